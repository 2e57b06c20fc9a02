import { strict as assert } from "assert";
import { anonymousPrincipal, runSimulation, SimulationRequestPrincipal } from "@cloud-copilot/iam-simulate";
import {
    billingKeyPrefix, billingObjectArn, parseS3Arn, parseSqsArn, PolicyDocument, s3EndpointPolicy, sqsQueueUrl, thanosPolicy, tlsOnlyBucketPolicy,
} from "../../../components/render/telemetryIam";
import { publicInternet, renderTelemetryNetworkPolicies } from "../../../components/render/telemetryNetwork";
import { kubePrometheusStackValues, thanosObjstoreConfig } from "../../../components/render/telemetryWorkloads";
import { renderAlertmanagerConfig } from "../../../components/render/alertmanager";
import { renderPrometheusRules } from "../../../components/render/prometheusRules";

describe("render/telemetryIam", () => {
    it("derives the queue URL from the ARN, per partition", () => {
        assert.equal(sqsQueueUrl("arn:aws:sqs:eu-west-1:111122223333:byoc-state.fifo"), "https://sqs.eu-west-1.amazonaws.com/111122223333/byoc-state.fifo");
        assert.equal(sqsQueueUrl("arn:aws-cn:sqs:cn-north-1:111122223333:q"), "https://sqs.cn-north-1.amazonaws.com.cn/111122223333/q");
        assert.deepEqual(parseSqsArn("arn:aws:sqs:us-east-1:111122223333:q"), { partition: "aws", region: "us-east-1", account: "111122223333", name: "q" });
    });

    it("billing prefix = optional ARN prefix + customer id", () => {
        assert.equal(billingKeyPrefix("arn:aws:s3:::b-bucket", "acme"), "acme");
        assert.equal(billingKeyPrefix("arn:aws:s3:::b-bucket/usage/", "acme"), "usage/acme");
        assert.equal(billingObjectArn("arn:aws:s3:::b-bucket/usage", "acme"), "arn:aws:s3:::b-bucket/usage/acme/*");
        assert.deepEqual(parseS3Arn("arn:aws:s3:::b-bucket"), { partition: "aws", bucket: "b-bucket", prefix: "" });
    });

    it("refuses ARNs of the wrong service or with wildcards, naming the value", () => {
        assert.throws(() => parseS3Arn("arn:aws:sqs:us-east-1:111122223333:q"), /billingBucketArn "arn:aws:sqs:.*" is not an S3 bucket ARN/);
        assert.throws(() => parseS3Arn("arn:aws:s3:::bucket/*"), /contains a wildcard/);
        assert.throws(() => parseSqsArn("arn:aws:sqs:us-east-1:111122223333:q*"), /is not an SQS queue ARN/);
        assert.throws(() => billingKeyPrefix("arn:aws:s3:::bucket", "Acme Corp"), /customer id "Acme Corp" must be a DNS label/);
    });

    it("the endpoint policy's ECR statement follows the region", () => {
        const p = s3EndpointPolicy({ billingBucketArn: "arn:aws:s3:::bbb", customer: "acme", customerBucketArns: ["arn:aws:s3:::own"], accountId: "111122223333", region: "eu-central-1" });
        assert.deepEqual(p.Statement[2].Resource, ["arn:aws:s3:::prod-eu-central-1-starport-layer-bucket/*"]);
    });
});

// Policy evaluation, not string matching: each request goes through an IAM simulator with the endpoint policy
// as the VPC endpoint policy, a caller allowed by its own identity policy and a bucket that admits it, so the
// endpoint policy is what decides.
const CUSTOMER = "111122223333";
const THIRD_PARTY = "999999999999"; // whoever signs the registry's redirect URL (or nobody: anonymous)
const THANOS_BUCKET = "arn:aws:s3:::byoc-acme-thanos-0123abc";
const endpointPolicy = (region: string) =>
    s3EndpointPolicy({ billingBucketArn: "arn:aws:s3:::provider-billing", customer: "acme", customerBucketArns: [THANOS_BUCKET], accountId: CUSTOMER, region });
const ALLOW_ALL = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:*", Resource: "*" }] };

async function decide(o: {
    endpoint?: PolicyDocument; identity?: PolicyDocument; bucketPolicy?: PolicyDocument;
    principal: SimulationRequestPrincipal; account: string; action: string; resource: string; bucketAccount?: string;
}) {
    const anonymous = o.principal === anonymousPrincipal;
    const bucketAccount = o.bucketAccount ?? o.account;
    const r = await runSimulation({
        request: {
            principal: o.principal,
            action: o.action,
            resource: { resource: o.resource, accountId: bucketAccount },
            contextVariables: { "aws:SecureTransport": "true", ...(anonymous ? {} : { "aws:PrincipalAccount": o.account }) },
        },
        identityPolicies: anonymous ? [] : [{ name: "caller", policy: o.identity ?? ALLOW_ALL }],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy: o.bucketPolicy ?? { Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: "*", Action: "s3:*", Resource: "*" }] },
        vpcEndpointPolicies: o.endpoint ? [{ name: "s3-gateway-endpoint", policy: o.endpoint }] : undefined,
    }, {});
    if (r.resultType !== "single") throw new Error(`simulation failed: ${JSON.stringify(r).slice(0, 500)}`);
    return r.result.analysis.result;
}
const layerGet = (endpoint: PolicyDocument, bucket: string, principal: SimulationRequestPrincipal = anonymousPrincipal) =>
    decide({ endpoint, principal, account: THIRD_PARTY, action: "s3:GetObject", resource: `arn:aws:s3:::${bucket}/sha256/ab/abcdef` });

describe("render/telemetryIam: the S3 gateway endpoint policy, evaluated", () => {
    const signer = `arn:aws:iam::${THIRD_PARTY}:user/registry-presigner`;

    it("us-east-1: image layer GETs from every registry that serves them from S3 in the region are allowed", async () => {
        const ep = endpointPolicy("us-east-1");
        assert.equal(await layerGet(ep, "prod-registry-k8s-io-us-east-1"), "Allowed", "registry.k8s.io (anonymous)");
        assert.equal(await layerGet(ep, "prod-us-east-1-starport-layer-bucket", signer), "Allowed", "ECR (presigned)");
        assert.equal(await layerGet(ep, "quayio-production-s3", signer), "Allowed", "quay.io (presigned)");
        assert.notEqual(await layerGet(ep, "docker-images-prod", signer), "Allowed", "nothing is pulled from Docker Hub, so its bucket stays closed");
    });

    it("the registry.k8s.io bucket follows archeio's region table, including its odd eu-west-2 name", async () => {
        assert.equal(await layerGet(endpointPolicy("eu-central-1"), "prod-registry-k8s-io-eu-central-1"), "Allowed");
        assert.equal(await layerGet(endpointPolicy("eu-west-2"), "767373bbdcb8270361b96548387bf2a9ad0d48758c35-eu-west-2"), "Allowed");
        assert.notEqual(await layerGet(endpointPolicy("eu-central-1"), "prod-registry-k8s-io-us-east-1"), "Allowed", "another region's bucket is not this endpoint's business");
    });

    it("outside us-east-1 neither quay.io's nor Docker Hub's bucket is admitted (both live in us-east-1)", async () => {
        const ep = endpointPolicy("eu-central-1");
        assert.notEqual(await layerGet(ep, "quayio-production-s3", signer), "Allowed");
        assert.notEqual(await layerGet(ep, "docker-images-prod", signer), "Allowed");
    });

    it("registry buckets are read-only through the endpoint: no PutObject, DeleteObject or listing", async () => {
        const ep = endpointPolicy("us-east-1");
        for (const bucket of ["prod-registry-k8s-io-us-east-1", "prod-us-east-1-starport-layer-bucket", "quayio-production-s3"]) {
            for (const [action, resource] of [["s3:PutObject", `arn:aws:s3:::${bucket}/exfil`], ["s3:DeleteObject", `arn:aws:s3:::${bucket}/x`], ["s3:ListBucket", `arn:aws:s3:::${bucket}`]]) {
                const mine = await decide({ endpoint: ep, principal: `arn:aws:iam::${CUSTOMER}:role/node`, account: CUSTOMER, action, resource, bucketAccount: THIRD_PARTY });
                assert.notEqual(mine, "Allowed", `${action} ${resource}`);
            }
        }
    });

    it("a GET or PUT on any other bucket is denied, even for the customer's own principals", async () => {
        const ep = endpointPolicy("us-east-1");
        const node = `arn:aws:iam::${CUSTOMER}:role/node`;
        for (const action of ["s3:GetObject", "s3:PutObject"]) {
            assert.notEqual(await decide({ endpoint: ep, principal: node, account: CUSTOMER, action, resource: "arn:aws:s3:::attacker-bucket/x", bucketAccount: THIRD_PARTY }), "Allowed", action);
        }
        assert.notEqual(await layerGet(ep, "attacker-bucket"), "Allowed", "anonymous GET");
        // …while the customer's own Thanos bucket and the billing prefix still work.
        assert.equal(await decide({ endpoint: ep, principal: node, account: CUSTOMER, action: "s3:GetObject", resource: `${THANOS_BUCKET}/01ABC/meta.json` }), "Allowed");
        assert.equal(await decide({ endpoint: ep, principal: node, account: CUSTOMER, action: "s3:PutObject", resource: "arn:aws:s3:::provider-billing/acme/2026/x.json", bucketAccount: THIRD_PARTY }), "Allowed");
    });

    it("the Thanos role and the endpoint admit aborting a multipart upload of a block (minio-go aborts failed uploads)", async () => {
        const thanos = `arn:aws:iam::${CUSTOMER}:role/thanos`;
        const object = `${THANOS_BUCKET}/01ABC/chunks/000001`;
        const identity = thanosPolicy(THANOS_BUCKET, `arn:aws:kms:us-east-1:${CUSTOMER}:key/1234abcd-12ab-34cd-56ef-1234567890ab`, "us-east-1");
        // The bucket's own policy only denies plain HTTP, so the role alone must grant it.
        const bucketPolicy = tlsOnlyBucketPolicy(THANOS_BUCKET);
        assert.equal(await decide({ identity, bucketPolicy, principal: thanos, account: CUSTOMER, action: "s3:AbortMultipartUpload", resource: object }), "Allowed", "role");
        assert.equal(await decide({ identity, bucketPolicy, principal: thanos, account: CUSTOMER, action: "s3:PutObject", resource: object }), "Allowed", "role: PutObject");
        assert.equal(await decide({ endpoint: endpointPolicy("us-east-1"), principal: thanos, account: CUSTOMER, action: "s3:AbortMultipartUpload", resource: object }), "Allowed", "endpoint");
    });
});

describe("render/telemetryNetwork", () => {
    it("public internet excludes private, link-local, CGNAT ranges, and a VPC in public space", () => {
        assert.deepEqual(publicInternet("10.40.0.0/16").ipBlock!.except, ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16", "127.0.0.0/8"]);
        assert.ok(publicInternet("198.18.0.0/16").ipBlock!.except!.includes("198.18.0.0/16"));
    });

    it("AWS-calling workloads may reach the Pod Identity agent; Alertmanager may not (it holds no AWS role)", () => {
        const byName = new Map(renderTelemetryNetworkPolicies({ vpcCidr: "10.40.0.0/16", apiServerClusterIp: "172.20.0.1", clickhouseNamespace: "clickhouse", stackRelease: "byoc-monitoring", standaloneBillingScraper: true }).map((p) => [p.name, p]));
        const agent = (n: string) => byName.get(n)!.spec.egress!.some((r) => r.to?.some((t) => t.ipBlock?.cidr === "169.254.170.23/32"));
        assert.deepEqual(["billing-scraper", "state-exporter", "prometheus", "alertmanager"].map(agent), [true, true, true, false]);
    });

    it("only the API clients may reach kubernetes.default's ClusterIP, as a /32 on TCP 443 (egress is judged before DNAT)", () => {
        const rendered = renderTelemetryNetworkPolicies({ vpcCidr: "10.40.0.0/16", apiServerClusterIp: "172.20.0.1", clickhouseNamespace: "clickhouse", stackRelease: "byoc-monitoring", standaloneBillingScraper: true });
        const apiRules = (n: string) => rendered.find((p) => p.name === n)!.spec.egress?.filter((r) => r.to?.some((t) => t.ipBlock?.cidr.startsWith("172.20."))) ?? [];
        for (const n of ["prometheus", "monitoring-stack"]) assert.deepEqual(apiRules(n), [{ to: [{ ipBlock: { cidr: "172.20.0.1/32" } }], ports: [{ protocol: "TCP", port: 443 }] }], n);
        for (const n of ["billing-scraper", "state-exporter", "alertmanager"]) assert.deepEqual(apiRules(n), [], n);
        assert.throws(() => renderTelemetryNetworkPolicies({ vpcCidr: "10.40.0.0/16", apiServerClusterIp: "172.20.0.0/16", clickhouseNamespace: "clickhouse", stackRelease: "byoc-monitoring", standaloneBillingScraper: false }),
            /apiServerClusterIp "172\.20\.0\.0\/16" must be an IPv4 address/);
    });
});

describe("render/telemetryWorkloads", () => {
    it("Thanos objstore has no credentials and uses the SDK chain (Pod Identity)", () => {
        const y = thanosObjstoreConfig("metrics-bucket", "us-east-1");
        assert.match(y, /aws_sdk_auth: true/);
        assert.match(y, /endpoint: "s3\.us-east-1\.amazonaws\.com"/);
        assert.doesNotMatch(y, /access_key|secret_key|insecure: true/);
    });

    it("refuses a malformed retention", () => {
        assert.throws(
            () =>
                kubePrometheusStackValues({
                    clusterName: "c", customer: "acme", alertmanagerConfig: renderAlertmanagerConfig({ webhookUrl: "https://a.example.com" }), rules: renderPrometheusRules(),
                    storageClassName: "sc", prometheusRetention: "forever", prometheusStorage: "1Gi", prometheusServiceAccount: "p", thanosObjstoreSecret: { name: "s", key: "k" }, replicas: 1,
                }),
            /prometheusRetention "forever" must be a duration such as 15d/,
        );
    });
});
