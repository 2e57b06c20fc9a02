// byoc:ingress.mode privatelink and byoc:encryption.kmsKeyArn under the mock runtime, on the repository's
// PrivateLink example (Pulumi.prod-privatelink.yaml) and on the dev/prod stacks with overrides.
import { strict as assert } from "assert";
import { readStackFile, parseOrThrow, toEngineConfig } from "../../stacks/loader";
import { runProgram } from "../../preview/runtime";
import { ROOT, runStack, Stack, stackRaw } from "../harness";
import dataPlane = require("../../index");

const KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const T = {
    nlb: "aws:lb/loadBalancer:LoadBalancer",
    tg: "aws:lb/targetGroup:TargetGroup",
    listener: "aws:lb/listener:Listener",
    tgb: "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding",
    eps: "aws:ec2/vpcEndpointService:VpcEndpointService",
    service: "kubernetes:core/v1:Service",
    kms: "aws:kms/key:Key",
};

async function runFile(stack: string): Promise<Stack> {
    const raw = readStackFile(stack, ROOT).raw;
    const config = parseOrThrow(raw, `Pulumi.${stack}.yaml`);
    return new Stack(await runProgram(() => dataPlane(config, new Date("2026-11-25T12:00:00Z")), { stack, config: toEngineConfig(raw) }));
}

const privateLinkIngress = (env: "dev" | "prod", over: Record<string, unknown> = {}) => ({
    ...(stackRaw(env)["byoc:ingress"] as object),
    mode: "privatelink",
    ipAllowList: ["10.80.0.0/16"],
    privateLink: { allowedPrincipals: ["arn:aws:iam::444455556666:root"], ...over },
});

describe("PrivateLink ingress and the customer's KMS key", () => {
    let pl: Stack;
    let devPl: Stack;
    before(async () => {
        pl = await runFile("prod-privatelink");
        devPl = await runStack("dev", { "byoc:ingress": privateLinkIngress("dev") });
    });

    for (const [label, get] of [["prod example", () => pl], ["dev", () => devPl]] as const) {
        it(`${label}: an internal NLB behind an endpoint service that admits exactly the principals and requires acceptance; no internet-facing load balancer`, () => {
            const s = get();
            const nlb = s.one(T.nlb).inputs;
            assert.equal(nlb.loadBalancerType, "network");
            assert.equal(nlb.internal, true);
            const privateIds = s.ofType("aws:ec2/subnet:Subnet").filter((x) => x.inputs.tags["byoc:tier"] === "private").map((x) => x.id);
            assert.deepEqual([...nlb.subnets].sort(), privateIds.sort());
            const eps = s.one(T.eps).inputs;
            assert.deepEqual(eps.networkLoadBalancerArns, [s.one(T.nlb).outputs.arn]);
            assert.deepEqual(eps.allowedPrincipals, ["arn:aws:iam::444455556666:root"]);
            assert.equal(eps.acceptanceRequired, true);
            // The gateway Service is ClusterIP: the controller makes no NLB of its own.
            const gw = s.ofType(T.service).find((x) => x.inputs.metadata.name === "istio-ingressgateway")!;
            assert.equal(gw.inputs.spec.type, "ClusterIP");
            assert.ok(!s.ofType(T.service).some((x) => x.inputs.spec?.type === "LoadBalancer"));
            assert.ok(s.ofType(T.nlb).every((x) => x.inputs.internal === true));
            assert.equal(s.outputs.ingressScheme, "internal");
        });

        it(`${label}: one proxy-protocol target group, listener and TargetGroupBinding per TLS port; the gateway reads PROXY v2 so the allow list still applies`, () => {
            const s = get();
            const tgs = s.ofType(T.tg);
            assert.deepEqual(tgs.map((t) => t.inputs.port).sort(), [443, 8443, 9440]);
            for (const tg of tgs) {
                assert.equal(tg.inputs.targetType, "ip");
                assert.equal(tg.inputs.proxyProtocolV2, true);
                assert.equal(tg.inputs.tags["elbv2.k8s.aws/cluster"], s.outputs.clusterName, "the controller's IAM conditions need its cluster tag");
                const tgb = s.ofType(T.tgb).find((b) => b.inputs.spec.targetGroupARN === tg.outputs.arn)!;
                assert.equal(tgb.inputs.spec.serviceRef.port, tg.inputs.port);
                const lbc = s.ofType("kubernetes:helm.sh/v3:Release").find((r) => r.inputs.chart === "aws-load-balancer-controller")!;
                assert.ok(tgb.dependencies.includes(lbc.urn), "the TargetGroupBinding CRD comes with the controller");
            }
            assert.equal(s.ofType(T.listener).length, 3);
            // The pods admit the NLB's security group on exactly the TLS ports (health checks use them too).
            const nlbSg = s.one("aws:ec2/securityGroup:SecurityGroup", "byoc-" + (label === "dev" ? "acme-dev" : "initech") + "-privatelink-nlb");
            assert.deepEqual(nlbSg.inputs.ingress ?? [], [], "the NLB itself admits nothing but PrivateLink traffic");
            assert.equal(s.one(T.nlb).inputs.enforceSecurityGroupInboundRulesOnPrivateLinkTraffic, "off");
            const podRules = s.ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter((x) => x.inputs.referencedSecurityGroupId === nlbSg.id);
            assert.deepEqual(podRules.map((x) => x.inputs.fromPort).sort((a, b) => a - b), [443, 8443, 9440]);
            assert.ok(tgs.every((t) => t.inputs.healthCheck.protocol === "TCP" && t.inputs.healthCheck.port === "traffic-port"), "Istio 1.26's status port does not read the PROXY header the NLB sends on health checks");
            assert.equal(s.one(T.nlb).inputs.tags["elbv2.k8s.aws/cluster"], undefined, "the controller may not touch the NLB");
            for (const b of s.ofType(T.tgb)) assert.equal(b.inputs.spec.ipAddressType, "ipv4");
            const deployment = s.ofType("kubernetes:apps/v1:Deployment").find((d) => d.inputs.metadata.name === "istio-ingressgateway")!;
            assert.deepEqual(JSON.parse(deployment.inputs.spec.template.metadata.annotations["proxy.istio.io/config"]), { gatewayTopology: { proxyProtocol: {} } });
            const authz = s.one("kubernetes:security.istio.io/v1:AuthorizationPolicy").inputs;
            assert.deepEqual(authz.spec.rules[0].from[0].source.remoteIpBlocks, ["10.80.0.0/16"]);
        });

        it(`${label}: outputs, flow row and operator actions name the endpoint service`, () => {
            const s = get();
            const eps = s.outputs.ingressEndpointService;
            assert.match(eps.serviceName, /^com\.amazonaws\.vpce\.us-east-1\.vpce-svc-/);
            assert.equal(eps.privateDnsName, s.outputs.ingressHostname);
            const row = (s.outputs.networkFlows as { flow: string; exposure: string; restrictedBy: string }[]).find((f) => f.flow.startsWith("Client queries"))!;
            assert.equal(row.exposure, "private");
            assert.match(row.restrictedBy, /PrivateLink endpoint service admitting arn:aws:iam::444455556666:root, each endpoint accepted explicitly/);
            assert.ok((s.outputs.operatorActions as string[]).some((a) => a.includes(eps.serviceName) && /accept/i.test(a)));
        });
    }

    it("the prod example brings its own key: it encrypts Secrets, the control-plane and flow-log groups, node and log volumes and the Thanos bucket; the stack creates no key", () => {
        assert.equal(pl.ofType(T.kms).length, 0, "no key of the stack's own");
        const eks = pl.one("eks:index:Cluster").inputs;
        assert.equal(eks.encryptionConfigKeyArn, KEY);
        for (const g of pl.ofType("aws:cloudwatch/logGroup:LogGroup")) assert.equal(g.inputs.kmsKeyId, KEY, g.name);
        assert.equal(pl.one("aws:ec2/launchTemplate:LaunchTemplate").inputs.blockDeviceMappings[0].ebs.kmsKeyId, KEY);
        assert.equal(pl.one("kubernetes:storage.k8s.io/v1:StorageClass").inputs.parameters.kmsKeyId, KEY);
        const sse = pl.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration").inputs;
        assert.equal(sse.rules[0].applyServerSideEncryptionByDefault.kmsMasterKeyId, KEY);
        const thanosPolicy = JSON.parse(pl.ofType("aws:iam/rolePolicy:RolePolicy").find((p) => p.name === "byoc-initech-thanos")!.inputs.policy);
        assert.ok(JSON.stringify(thanosPolicy).includes(KEY), "the Thanos role may use the customer's key");
        const csi = pl.ofType("aws:iam/rolePolicy:RolePolicy").find((p) => p.name === "byoc-initech-ebs-csi-kms")!;
        assert.ok(JSON.parse(csi.inputs.policy).Statement.every((st: { Resource: string }) => st.Resource === KEY), "the EBS CSI driver may use exactly that key");
        const uses = pl.outputs.encryptionKeys as { customerManaged: boolean; uses: { what: string; key: string }[] };
        assert.equal(uses.customerManaged, true);
        assert.ok(uses.uses.every((u) => u.key === KEY), JSON.stringify(uses.uses));
    });

    it("without kmsKeyArn the stack creates its own keys — secrets, flow logs, Thanos, and a data key for volumes and control-plane logs that EC2 Auto Scaling and CloudWatch Logs may use", async () => {
        const prod = await runStack("prod");
        assert.equal(prod.ofType(T.kms).length, 4);
        const data = prod.one(T.kms, "byoc-acme-data");
        const lt = prod.one("aws:ec2/launchTemplate:LaunchTemplate").inputs.blockDeviceMappings[0].ebs;
        assert.equal(lt.kmsKeyId, data.outputs.arn);
        assert.equal(prod.one("kubernetes:storage.k8s.io/v1:StorageClass").inputs.parameters.kmsKeyId, data.outputs.arn);
        assert.equal(prod.one("aws:cloudwatch/logGroup:LogGroup", "byoc-acme-control-plane").inputs.kmsKeyId, data.outputs.arn);
        const policy = JSON.parse(data.inputs.policy);
        const sids = Object.fromEntries(policy.Statement.map((st: { Sid: string }) => [st.Sid, st]));
        // Named by condition: in a fresh account the Auto Scaling service-linked role does not exist yet, and KMS
        // refuses a key policy whose principal does not exist.
        assert.equal(sids.AutoScalingVolumes.Principal.AWS, "*");
        assert.match(sids.AutoScalingVolumes.Condition.StringEquals["aws:PrincipalArn"], /:role\/aws-service-role\/autoscaling\.amazonaws\.com\/AWSServiceRoleForAutoScaling$/);
        assert.equal(sids.AutoScalingVolumes.Condition.StringEquals["kms:CallerAccount"], "111122223333");
        assert.deepEqual(sids.AutoScalingGrants.Condition.Bool, { "kms:GrantIsForAWSResource": "true" });
        assert.equal(sids.ControlPlaneLogs.Condition.ArnLike["kms:EncryptionContext:aws:logs:arn"], "arn:aws:logs:us-east-1:111122223333:log-group:/aws/eks/byoc-acme-prod/cluster");
        assert.equal(prod.outputs.encryptionKeys.customerManaged, false);
        assert.ok(prod.outputs.encryptionKeys.uses.every((u: { key: string }) => u.key.startsWith("arn:aws:kms:")), "every use names a KMS key of the stack");
    });

    it("refuses a PrivateLink without principals, with `*`, without acceptance in prod, and privateLink outside its mode", async () => {
        const { parseStackConfig, formatProblems } = require("../../stacks/schema") as typeof import("../../stacks/schema");
        const problems = (over: Record<string, unknown>) => {
            const r = parseStackConfig({ ...stackRaw("prod"), ...over });
            return r.ok ? "" : formatProblems(r.problems);
        };
        assert.match(problems({ "byoc:ingress": { ...privateLinkIngress("prod"), privateLink: undefined } }), /byoc:ingress\.privateLink: is required with mode privatelink/);
        assert.match(problems({ "byoc:ingress": privateLinkIngress("prod", { allowedPrincipals: ["*"] }) }), /allowedPrincipals\[0\] = "\*": must be an IAM principal ARN/);
        assert.match(problems({ "byoc:ingress": privateLinkIngress("prod", { acceptanceRequired: false }) }), /acceptanceRequired = false: must be true in prod/);
        assert.match(problems({ "byoc:ingress": { ...(stackRaw("prod")["byoc:ingress"] as object), privateLink: { allowedPrincipals: ["arn:aws:iam::444455556666:root"] } } }), /byoc:ingress\.privateLink = .*only applies with mode privatelink/);
        assert.match(problems({ "byoc:encryption": { kmsKeyArn: KEY.replace("us-east-1", "eu-west-1") } }), /byoc:encryption\.kmsKeyArn = .*is in eu-west-1, the stack in us-east-1/);
        assert.match(problems({ "byoc:encryption": { kmsKeyArn: "arn:aws:kms:us-east-1:444455556666:alias/byoc" } }), /byoc:encryption\.kmsKeyArn = .*a key ARN, not an alias/);
    });
});

