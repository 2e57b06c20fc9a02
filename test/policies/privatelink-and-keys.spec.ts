import { strict as assert } from "assert";
import { customerManagedKeys, privateLinkExposure } from "../../policies/rules/privatelink-and-keys";
import { expectClean, res, runStack, UNKNOWN } from "./helpers";

const KEY = "arn:aws:kms:us-east-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const eps = (props: Record<string, unknown>) => res("aws:ec2/vpcEndpointService:VpcEndpointService", "eps", { acceptanceRequired: true, allowedPrincipals: ["arn:aws:iam::444455556666:root"], networkLoadBalancerArns: ["arn:nlb"], ...props });
const nlb = (internal: unknown) => res("aws:lb/loadBalancer:LoadBalancer", "nlb", { loadBalancerType: "network", internal });
const lbService = (annotations: Record<string, string> = {}) =>
    res("kubernetes:core/v1:Service", "svc", { metadata: { name: "svc", namespace: "x", annotations }, spec: { type: "LoadBalancer", loadBalancerSourceRanges: ["10.0.0.0/8"] } });

describe("privatelink-exposure", () => {
    it("flags an internet-facing load balancer (internal absent or false) and a public LoadBalancer Service next to an endpoint service", () => {
        const v = runStack(privateLinkExposure, [eps({}), nlb(undefined), lbService(), res("aws:alb/loadBalancer:LoadBalancer", "alb", { internal: false })]);
        assert.equal(v.length, 3);
        assert.ok(v.some((x) => /Load balancer 'nlb' is internet-facing/.test(x.message)));
        assert.ok(v.some((x) => /Service 'svc' is of type LoadBalancer without the internal scheme/.test(x.message)));
    });
    it("compliant twin: the internal NLB, an internal-annotated Service, ClusterIP Services", () => {
        expectClean(runStack(privateLinkExposure, [eps({}), nlb(true), lbService({ "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal" }), res("kubernetes:core/v1:Service", "c", { spec: { type: "ClusterIP" } })]));
    });
    it("without an endpoint service a public load balancer is another rule's business", () => {
        expectClean(runStack(privateLinkExposure, [nlb(false), lbService()]));
    });
    it("flags `*` in allowedPrincipals and in a separate principal resource, in every environment", () => {
        for (const env of ["dev", "prod"] as const) {
            const v = runStack(privateLinkExposure, [eps({ allowedPrincipals: ["*"] }), res("aws:ec2/vpcEndpointServiceAllowedPrinciple:VpcEndpointServiceAllowedPrinciple", "p", { vpcEndpointServiceId: "vpce-svc-1", principalArn: "*" })], { env });
            assert.equal(v.length, 2, env);
        }
    });
    it("flags auto-acceptance in prod (absent = false: the AWS default), not in dev", () => {
        assert.match(runStack(privateLinkExposure, [eps({ acceptanceRequired: undefined })])[0].message, /accepts endpoint connections automatically/);
        expectClean(runStack(privateLinkExposure, [eps({ acceptanceRequired: false })], { env: "dev" }));
    });
    it("values unknown in a preview are not judged", () => {
        expectClean(runStack(privateLinkExposure, [eps({ acceptanceRequired: UNKNOWN, allowedPrincipals: UNKNOWN }), nlb(UNKNOWN)]));
    });
});

describe("customer-managed-keys (prod)", () => {
    const violating = [
        res("eks:index:Cluster", "eks", {}),
        res("aws:cloudwatch/logGroup:LogGroup", "logs", { name: "/aws/eks/x/cluster" }),
        res("aws:ec2/launchTemplate:LaunchTemplate", "lt", { blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { encrypted: "true" } }] }),
        res("kubernetes:storage.k8s.io/v1:StorageClass", "sc", { provisioner: "ebs.csi.aws.com", parameters: { type: "gp3", encrypted: "true" } }),
        res("aws:ebs/volume:Volume", "vol", { encrypted: true, kmsKeyId: "alias/aws/ebs" }),
        res("aws:s3/bucket:Bucket", "b", { bucket: "b" }),
        res("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "b2sse", { bucket: "b2", rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] }),
    ];
    it("flags each type written without a customer-managed key (absent, AWS-managed alias, SSE-S3, a bucket without SSE-KMS)", () => {
        const v = runStack(customerManagedKeys, violating);
        for (const name of ["eks", "logs", "lt", "sc", "vol", "b", "b2sse"]) assert.ok(v.some((x) => x.message.startsWith(`'${name}'`) || x.message.includes(`Bucket '${name}'`)), `${name}: ${v.map((x) => x.message).join("\n")}`);
    });
    it("compliant twin: each type with the customer's key (or a key of the stack, referenced as Pulumi writes it)", () => {
        const bucket = res("aws:s3/bucket:Bucket", "b", { bucket: "b" });
        const sse = res("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "bsse", { bucket: "b", rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: KEY }, bucketKeyEnabled: true }] },
            { propertyDependencies: { bucket: [bucket.urn] } });
        expectClean(runStack(customerManagedKeys, [
            res("eks:index:Cluster", "eks", { encryptionConfigKeyArn: KEY }),
            res("aws:cloudwatch/logGroup:LogGroup", "logs", { kmsKeyId: KEY }),
            res("aws:ec2/launchTemplate:LaunchTemplate", "lt", { blockDeviceMappings: [{ ebs: { encrypted: "true", kmsKeyId: KEY } }] }),
            res("kubernetes:storage.k8s.io/v1:StorageClass", "sc", { provisioner: "ebs.csi.aws.com", parameters: { encrypted: "true", kmsKeyId: KEY } }),
            res("kubernetes:storage.k8s.io/v1:StorageClass", "efs", { provisioner: "efs.csi.aws.com", parameters: {} }),
            bucket,
            sse,
        ]));
    });
    it("only in prod; unknown keys are not judged", () => {
        expectClean(runStack(customerManagedKeys, violating, { env: "dev" }));
        expectClean(runStack(customerManagedKeys, [res("aws:cloudwatch/logGroup:LogGroup", "logs", { kmsKeyId: UNKNOWN })]));
    });
});
