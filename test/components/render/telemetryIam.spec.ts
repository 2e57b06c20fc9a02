import { strict as assert } from "assert";
import {
    billingKeyPrefix, billingObjectArn, parseS3Arn, parseSqsArn, s3EndpointPolicy, sqsQueueUrl,
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
