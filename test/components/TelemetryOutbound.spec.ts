import { strict as assert } from "assert";
import { anonymousPrincipal, runSimulation } from "@cloud-copilot/iam-simulate";
import { runComponent, runStack, Stack } from "../harness";
import { RecordedResource } from "../../preview/runtime";
import { TelemetryOutbound, TelemetryOutboundArgs } from "../../components/TelemetryOutbound";
import { MOCK_ACCOUNT } from "../../preview/mocks";

const T = {
    role: "aws:iam/role:Role",
    rolePolicy: "aws:iam/rolePolicy:RolePolicy",
    bucket: "aws:s3/bucket:Bucket",
    pab: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    sse: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    lifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    ownership: "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
    key: "aws:kms/key:Key",
    endpointPolicy: "aws:ec2/vpcEndpointPolicy:VpcEndpointPolicy",
    association: "aws:eks/podIdentityAssociation:PodIdentityAssociation",
    netpol: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
    deployment: "kubernetes:apps/v1:Deployment",
    storageClass: "kubernetes:storage.k8s.io/v1:StorageClass",
    release: "kubernetes:helm.sh/v3:Release",
    secret: "kubernetes:core/v1:Secret",
};

const args = (over: Partial<TelemetryOutboundArgs> = {}): TelemetryOutboundArgs => ({
    customerId: "acme",
    environment: "prod",
    region: "us-east-1",
    clusterName: "byoc-acme-prod",
    vpcCidr: "10.40.0.0/16",
    apiServerClusterIp: "172.20.0.1",
    s3EndpointId: "vpce-0123456789abcdef0",
    billingBucketArn: "arn:aws:s3:::example-provider-billing",
    stateQueueArn: "arn:aws:sqs:us-east-1:444455556666:byoc-state",
    alertWebhookUrl: "https://alerts.example.com/hooks/byoc",
    ...over,
});

const mine = (s: Stack, type: string) => s.ofType(type).filter((r) => r.urn.includes("byoc:index:TelemetryOutbound"));
const one = (s: Stack, type: string, name: string) => {
    const found = mine(s, type).filter((r) => r.name === name);
    assert.equal(found.length, 1, `expected one ${type} named ${name}, found ${found.map((r) => r.name).join(", ")}`);
    return found[0];
};
const doc = (r: RecordedResource, key = "policy") => JSON.parse(r.inputs[key]);

/** Actions and resources of every Allow statement, with no wildcard action and no wildcard bucket/ARN head. */
function allows(policy: any): { actions: string[]; resources: string[] }[] {
    return policy.Statement.filter((s: any) => s.Effect === "Allow").map((s: any) => {
        assert.equal(s.NotAction, undefined);
        assert.equal(s.NotResource, undefined);
        const actions = [s.Action].flat();
        const resources = [s.Resource].flat();
        for (const a of actions) assert.doesNotMatch(a, /[*?]/, `wildcard action ${a}`);
        for (const r of resources) {
            assert.notEqual(r, "*");
            const [head] = r.split(":").slice(5).join(":").split("/");
            assert.doesNotMatch(head, /[*?]/, `wildcard resource ${r}`);
        }
        return { actions, resources };
    });
}

describe("TelemetryOutbound", () => {
    let prod: Stack;
    let dev: Stack;
    before(async () => {
        prod = await runComponent(() => new TelemetryOutbound("byoc-acme", args()), "prod");
        dev = await runComponent(() => new TelemetryOutbound("byoc-acme", args({ environment: "dev" })), "dev");
    });

    describe("IAM (Pod Identity)", () => {
        it("billing scraper may only s3:PutObject under the customer prefix of the provider bucket", () => {
            assert.deepEqual(allows(doc(one(prod, T.rolePolicy, "byoc-acme-billing-scraper"))), [
                { actions: ["s3:PutObject"], resources: ["arn:aws:s3:::example-provider-billing/acme/*"] },
            ]);
        });

        it("a bucket ARN with a prefix keeps it: <prefix>/<customer>/*", async () => {
            const s = await runComponent(() => new TelemetryOutbound("byoc-acme", args({ billingBucketArn: "arn:aws:s3:::example-provider-billing/byoc/v1/" })), "prod");
            assert.deepEqual(allows(doc(one(s, T.rolePolicy, "byoc-acme-billing-scraper"))), [
                { actions: ["s3:PutObject"], resources: ["arn:aws:s3:::example-provider-billing/byoc/v1/acme/*"] },
            ]);
        });

        it("State Exporter may only sqs:SendMessage on the queue", () => {
            assert.deepEqual(allows(doc(one(prod, T.rolePolicy, "byoc-acme-state-exporter"))), [
                { actions: ["sqs:SendMessage"], resources: ["arn:aws:sqs:us-east-1:444455556666:byoc-state"] },
            ]);
        });

        it("Thanos may list, read, write, delete and abort multipart uploads in the customer bucket and use its key through S3 only", () => {
            const bucket = one(prod, T.bucket, "byoc-acme-thanos").outputs.arn;
            const key = one(prod, T.key, "byoc-acme-thanos").outputs.arn;
            const policy = doc(one(prod, T.rolePolicy, "byoc-acme-thanos"));
            assert.deepEqual(allows(policy), [
                { actions: ["s3:ListBucket"], resources: [bucket] },
                { actions: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"], resources: [`${bucket}/*`] },
                { actions: ["kms:Decrypt", "kms:GenerateDataKey"], resources: [key] },
            ]);
            assert.deepEqual(policy.Statement[2].Condition, { StringEquals: { "kms:ViaService": "s3.us-east-1.amazonaws.com" } });
        });

        it("roles trust only EKS Pod Identity for this account's cluster, and carry their byoc:role", () => {
            const roles = mine(prod, T.role);
            assert.deepEqual(roles.map((r) => r.inputs.tags["byoc:role"]).sort(), ["billing-scraper", "state-exporter", "thanos"]);
            for (const r of roles) {
                const trust = doc(r, "assumeRolePolicy");
                assert.equal(trust.Statement.length, 1);
                const [s] = trust.Statement;
                assert.deepEqual(s.Principal, { Service: "pods.eks.amazonaws.com" });
                assert.deepEqual(s.Action, ["sts:AssumeRole", "sts:TagSession"]);
                assert.deepEqual(s.Condition, {
                    StringEquals: { "aws:SourceAccount": MOCK_ACCOUNT },
                    ArnEquals: { "aws:SourceArn": `arn:aws:eks:us-east-1:${MOCK_ACCOUNT}:cluster/byoc-acme-prod` },
                });
                assert.equal(r.inputs.managedPolicyArns, undefined);
            }
        });

        it("associates each role with exactly its service accounts (the billing sidecar's in the ClickHouse namespace)", () => {
            const roleOf = (s: Stack, name: string) => one(s, T.role, name).outputs.arn;
            const rows = (s: Stack) => mine(s, T.association).map((a) => `${a.inputs.namespace}/${a.inputs.serviceAccount} → ${a.inputs.roleArn}`).sort();
            assert.deepEqual(rows(prod), [
                `byoc-telemetry/byoc-prometheus → ${roleOf(prod, "byoc-acme-thanos")}`,
                `byoc-telemetry/state-exporter → ${roleOf(prod, "byoc-acme-state-exporter")}`,
                `clickhouse/billing-scraper → ${roleOf(prod, "byoc-acme-billing-scraper")}`,
            ]);
            assert.ok(rows(dev).includes(`byoc-telemetry/billing-scraper → ${roleOf(dev, "byoc-acme-billing-scraper")}`), "dev: standalone billing scraper");
            for (const a of mine(prod, T.association)) assert.equal(a.inputs.clusterName, "byoc-acme-prod");
        });
    });

    describe("the customer's metrics bucket", () => {
        it("has a full public access block, BucketOwnerEnforced, and default KMS encryption with a bucket key", () => {
            const bucket = one(prod, T.bucket, "byoc-acme-thanos");
            assert.equal(bucket.inputs.tags["byoc:role"], "thanos");
            const pab = one(prod, T.pab, "byoc-acme-thanos").inputs;
            for (const f of ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"]) assert.equal(pab[f], true, f);
            assert.equal(pab.bucket, bucket.id);
            assert.deepEqual(one(prod, T.ownership, "byoc-acme-thanos").inputs.rule, { objectOwnership: "BucketOwnerEnforced" });
            const key = one(prod, T.key, "byoc-acme-thanos");
            assert.equal(key.inputs.enableKeyRotation, true);
            const [rule] = one(prod, T.sse, "byoc-acme-thanos").inputs.rules;
            assert.deepEqual(rule, { applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: key.outputs.arn }, bucketKeyEnabled: true });
        });

        it("denies every request that is not over TLS", () => {
            const arn = one(prod, T.bucket, "byoc-acme-thanos").outputs.arn;
            assert.deepEqual(doc(one(prod, T.bucketPolicy, "byoc-acme-thanos")).Statement, [
                { Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: ["s3:*"], Resource: [arn, `${arn}/*`], Condition: { Bool: { "aws:SecureTransport": "false" } } },
            ]);
        });

        it("expires metrics after the retention and aborts incomplete uploads", () => {
            const rules = (s: Stack) => one(s, T.lifecycle, "byoc-acme-thanos").inputs.rules;
            assert.deepEqual(rules(prod).map((r: any) => [r.id, r.status, r.expiration?.days, r.abortIncompleteMultipartUpload?.daysAfterInitiation]), [
                ["expire-metrics", "Enabled", 365, undefined],
                ["abort-incomplete-uploads", "Enabled", undefined, 1],
            ]);
            assert.equal(rules(dev)[0].expiration.days, 30);
        });
    });

    it("the S3 gateway endpoint policy admits the billing prefix, the customer's bucket and image layers (read-only), nothing else", () => {
        const ep = one(prod, T.endpointPolicy, "byoc-acme-s3-endpoint");
        assert.equal(ep.inputs.vpcEndpointId, "vpce-0123456789abcdef0");
        const bucket = one(prod, T.bucket, "byoc-acme-thanos").outputs.arn;
        const policy = doc(ep);
        const layers = (b: string) => ({ actions: ["s3:GetObject"], resources: [`arn:aws:s3:::${b}/*`] });
        assert.deepEqual(allows(policy), [
            { actions: ["s3:PutObject"], resources: ["arn:aws:s3:::example-provider-billing/acme/*"] },
            { actions: ["s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"], resources: [bucket, `${bucket}/*`] },
            layers("prod-us-east-1-starport-layer-bucket"),
            layers("prod-registry-k8s-io-us-east-1"),
            layers("quayio-production-s3"),
        ]);
        for (const s of policy.Statement.slice(0, 2)) assert.deepEqual(s.Condition, { StringEquals: { "aws:PrincipalAccount": MOCK_ACCOUNT } });
    });

    it("through the registered endpoint policy, a registry.k8s.io layer GET is allowed and a PUT into that bucket is not", async () => {
        const policy = doc(one(prod, T.endpointPolicy, "byoc-acme-s3-endpoint"));
        const decide = async (action: string, resource: string) => {
            const r = await runSimulation({
                request: { principal: anonymousPrincipal, action, resource: { resource, accountId: "999999999999" }, contextVariables: {} },
                identityPolicies: [], serviceControlPolicies: [], resourceControlPolicies: [],
                // A public bucket, so that only the endpoint policy decides.
                resourcePolicy: { Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: "*", Action: "s3:*", Resource: "*" }] },
                vpcEndpointPolicies: [{ name: "s3-endpoint", policy }],
            }, {});
            assert.equal(r.resultType, "single");
            return r.resultType === "single" ? r.result.analysis.result : undefined;
        };
        assert.equal(await decide("s3:GetObject", "arn:aws:s3:::prod-registry-k8s-io-us-east-1/containers/images/sha256:0123abcd"), "Allowed");
        assert.notEqual(await decide("s3:PutObject", "arn:aws:s3:::prod-registry-k8s-io-us-east-1/containers/images/x"), "Allowed");
        assert.notEqual(await decide("s3:GetObject", "arn:aws:s3:::some-other-bucket/x"), "Allowed");
    });

    describe("Kubernetes", () => {
        const policies = (s: Stack) => new Map(mine(s, T.netpol).map((p) => [p.inputs.metadata.name as string, p.inputs]));

        it("default-denies the namespace and gives each telemetry workload its own ingress+egress policy", () => {
            assert.deepEqual([...policies(prod).keys()].sort(), ["alertmanager", "default-deny", "monitoring-stack", "prometheus", "state-exporter"]);
            assert.deepEqual([...policies(dev).keys()].sort(), ["alertmanager", "billing-scraper", "default-deny", "monitoring-stack", "prometheus", "state-exporter"]);
            const deny = policies(prod).get("default-deny")!;
            assert.deepEqual(deny.spec, { podSelector: {}, policyTypes: ["Ingress", "Egress"] });
            for (const [name, p] of policies(dev)) {
                assert.equal(p.metadata.namespace, "byoc-telemetry");
                assert.deepEqual(p.spec.policyTypes, ["Ingress", "Egress"], name);
                assert.ok(p.metadata.labels["app.kubernetes.io/component"], name);
            }
        });

        it("outbound workloads reach only DNS, (AWS credentials,) and TCP 443 on public addresses", () => {
            const port443 = (p: any) => p.spec.egress.filter((r: any) => r.to?.some((t: any) => t.ipBlock?.cidr === "0.0.0.0/0"));
            for (const name of ["billing-scraper", "state-exporter", "alertmanager"]) {
                const p = policies(dev).get(name)!;
                assert.deepEqual(p.spec.egress[0], {
                    to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } }, podSelector: { matchLabels: { "k8s-app": "kube-dns" } } }],
                    ports: [{ protocol: "UDP", port: 53 }, { protocol: "TCP", port: 53 }],
                }, `${name}: DNS first`);
                const internet = port443(p);
                assert.equal(internet.length, 1, name);
                assert.deepEqual(internet[0].ports, [{ protocol: "TCP", port: 443 }], name);
                const except: string[] = internet[0].to[0].ipBlock.except;
                for (const c of ["10.0.0.0/8", "169.254.0.0/16", "100.64.0.0/10"]) assert.ok(except.includes(c), `${name} excludes ${c}`);
                // No rule without ports except towards named in-cluster peers.
                for (const r of p.spec.egress) assert.ok(r.ports?.length, `${name}: every egress rule names its ports`);
            }
        });

        it("Prometheus is reachable only from itself and the tailnet nginx", () => {
            const p = policies(prod).get("prometheus")!;
            assert.deepEqual(p.spec.podSelector.matchLabels, { "app.kubernetes.io/name": "prometheus", "app.kubernetes.io/component": "prometheus" });
            assert.deepEqual(p.spec.ingress[1], {
                from: [{ namespaceSelector: {}, podSelector: { matchLabels: { "app.kubernetes.io/component": "tailnet-nginx" } } }],
                ports: [{ protocol: "TCP", port: 9090 }, { protocol: "TCP", port: 10901 }],
            });
        });

        it("dev runs a standalone billing scraper, prod only exports the sidecar spec", () => {
            const names = (s: Stack) => mine(s, T.deployment).map((d) => d.inputs.metadata.name).sort();
            assert.deepEqual(names(dev), ["billing-scraper", "state-exporter"]);
            assert.deepEqual(names(prod), ["state-exporter"]);
            const billing = mine(dev, T.deployment).find((d) => d.inputs.metadata.name === "billing-scraper")!;
            const pod = billing.inputs.spec.template;
            assert.equal(pod.spec.serviceAccountName, "billing-scraper");
            assert.equal(pod.spec.automountServiceAccountToken, false);
            assert.deepEqual(pod.metadata.labels["app.kubernetes.io/component"], "billing-scraper");
        });

        it("the exported sidecar spec is non-root, read-only, limited, with the bucket, prefix and scrape interval", async () => {
            let sidecar: any;
            await runComponent(() => {
                sidecar = new TelemetryOutbound("byoc-acme", args({ billingScrapeIntervalSeconds: 30 })).billingSidecar;
            }, "prod");
            const c = sidecar.container;
            assert.equal(sidecar.serviceAccountName, "billing-scraper");
            assert.equal(sidecar.namespace, "clickhouse");
            assert.match(c.image, /billing-scraper:\d+\.\d+\.\d+$/);
            const env = Object.fromEntries(c.env.map((e: any) => [e.name, e.value]));
            assert.deepEqual(
                { bucket: env.BILLING_BUCKET, prefix: env.BILLING_PREFIX, interval: env.SCRAPE_INTERVAL, region: env.AWS_REGION },
                { bucket: "example-provider-billing", prefix: "acme", interval: "30s", region: "us-east-1" },
            );
            assert.deepEqual(c.resources.limits, { cpu: "100m", memory: "128Mi" });
            assert.equal(c.securityContext.runAsNonRoot, true);
            assert.equal(c.securityContext.readOnlyRootFilesystem, true);
            assert.equal(c.securityContext.allowPrivilegeEscalation, false);
            assert.deepEqual(c.securityContext.capabilities, { drop: ["ALL"] });
        });

        it("the State Exporter gets the queue URL derived from the ARN", () => {
            const d = mine(prod, T.deployment).find((x) => x.inputs.metadata.name === "state-exporter")!;
            const env = Object.fromEntries(d.inputs.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value]));
            assert.equal(env.STATE_QUEUE_URL, "https://sqs.us-east-1.amazonaws.com/444455556666/byoc-state");
            assert.equal(env.AWS_REGION, "us-east-1");
        });

        it("logs and metrics volumes use an encrypted, expandable, WaitForFirstConsumer gp3 class", () => {
            const sc = one(prod, T.storageClass, "byoc-acme-gp3-encrypted").inputs;
            assert.equal(sc.provisioner, "ebs.csi.aws.com");
            assert.deepEqual({ type: sc.parameters.type, encrypted: sc.parameters.encrypted }, { type: "gp3", encrypted: "true" });
            assert.equal(sc.allowVolumeExpansion, true);
            assert.equal(sc.volumeBindingMode, "WaitForFirstConsumer");
        });

        it("kube-prometheus-stack is pinned and wired: Alertmanager to the HTTPS webhook, Thanos to the bucket, volumes on the encrypted class", () => {
            const release = one(prod, T.release, "byoc-acme-monitoring").inputs;
            assert.equal(release.chart, "kube-prometheus-stack");
            assert.match(release.version, /^\d+\.\d+\.\d+$/);
            assert.equal(release.namespace, "byoc-telemetry");
            const v = release.values;
            const am = v.alertmanager.config;
            assert.deepEqual(am.receivers[0].webhook_configs.map((w: any) => [w.url, w.send_resolved]), [["https://alerts.example.com/hooks/byoc", true]]);
            assert.doesNotMatch(JSON.stringify(am), /http:\/\//);
            assert.equal(v.prometheus.prometheusSpec.storageSpec.volumeClaimTemplate.spec.storageClassName, "byoc-gp3-encrypted");
            assert.equal(v.alertmanager.alertmanagerSpec.storage.volumeClaimTemplate.spec.storageClassName, "byoc-gp3-encrypted");
            assert.equal(v.prometheus.prometheusSpec.retention, "15d");
            assert.deepEqual(v.prometheus.prometheusSpec.externalLabels, { cluster: "byoc-acme-prod", customer: "acme" });
            assert.deepEqual(v.prometheus.prometheusSpec.thanos.objectStorageConfig.existingSecret, { name: "thanos-objstore", key: "objstore.yml" });
            assert.equal(v.prometheus.serviceAccount.name, "byoc-prometheus");
            assert.equal(v.defaultRules.disabled.Watchdog, true);
            assert.ok(v.additionalPrometheusRulesMap["byoc-telemetry"].groups.length > 0);
            assert.equal(v.prometheus.prometheusSpec.podMetadata.labels["app.kubernetes.io/component"], "prometheus");
            assert.equal(v.alertmanager.alertmanagerSpec.podMetadata.labels["app.kubernetes.io/component"], "alertmanager");
            const objstore = one(prod, T.secret, "byoc-acme-thanos-objstore").inputs;
            // The Kubernetes SDK marks stringData secret; the recorded input is the wire form { <sig>, value }.
            const data = objstore.stringData.value ?? objstore.stringData;
            const bucketName = one(prod, T.bucket, "byoc-acme-thanos").outputs.bucket;
            assert.match(data["objstore.yml"], new RegExp(`bucket: "${bucketName}"`));
            assert.doesNotMatch(data["objstore.yml"], /access_key|secret_key/);
            assert.equal(objstore.metadata.labels["app.kubernetes.io/component"], "thanos");
        });
    });

    describe("bad arguments fail before anything is registered, naming the value", () => {
        const cases: [Partial<TelemetryOutboundArgs>, RegExp][] = [
            [{ alertWebhookUrl: "http://alerts.example.com/hook" }, /alertWebhookUrl "http:\/\/alerts.example.com\/hook" uses http; .*HTTPS only/],
            [{ billingBucketArn: "arn:aws:s3:::*" }, /billingBucketArn "arn:aws:s3:::\*" is not an S3 bucket ARN/],
            [{ billingBucketArn: "arn:aws:s3:::bucket/pre*" }, /contains a wildcard/],
            [{ stateQueueArn: "arn:aws:sqs:us-east-1:444455556666:*" }, /stateQueueArn .* is not an SQS queue ARN/],
            [{ vpcCidr: "fd00::/64" }, /vpcCidr "fd00::\/64" must be an IPv4 CIDR/],
            [{ metricsRetentionDays: 0 }, /metricsRetentionDays 0 must be a whole number of days/],
        ];
        for (const [over, message] of cases) {
            it(JSON.stringify(over), async () => {
                await assert.rejects(runComponent(() => new TelemetryOutbound("byoc-acme", args(over)), "prod"), message);
            });
        }
    });

    describe("in the stack", () => {
        for (const env of ["dev", "prod"] as const) {
            it(`${env}: the three outbound flows are in the flow table`, async () => {
                const s = await runStack(env);
                const flows = s.outputs.networkFlows.filter((f: any) => f.component === "TelemetryOutbound");
                assert.deepEqual(flows.map((f: any) => [f.flow, f.direction, f.exposure]), [
                    ["Billing scraper → provider S3", "outbound", "private"],
                    ["State Exporter → provider SQS", "outbound", "public"],
                    ["AlertManager → provider alert webhook", "outbound", "public"],
                ]);
                const endpoint = s.one("aws:ec2/vpcEndpoint:VpcEndpoint").id;
                assert.match(flows[0].restrictedBy, new RegExp(`S3 gateway endpoint ${endpoint} \\(\\+ endpoint policy\\), role limited to s3:PutObject on arn:aws:s3:::example-provider-billing(-dev)?/acme(-dev)?/\\*`));
                assert.match(flows[1].restrictedBy, /role limited to sqs:SendMessage on arn:aws:sqs:us-east-1:111122223333:byoc-state/);
                assert.match(flows[2].restrictedBy, /^HTTPS only \(https:\/\/alerts\.example\.com/);
                assert.equal(s.one(T.endpointPolicy).inputs.vpcEndpointId, endpoint);
            });

            it(`${env}: the policy pack finds nothing to object to in the telemetry resources`, async () => {
                const s = await runStack(env);
                const report = s.policyReport(env);
                const ours = report.violations.filter((v) => v.urn?.includes("TelemetryOutbound") || /billing|state|thanos|telemetry/i.test(v.message));
                assert.deepEqual(ours, []);
            });
        }
    });
});
