// What leaves the data plane, and what does not. Out: billing data to the provider's S3 bucket (through the S3
// gateway endpoint), service state to the provider's SQS queue, alerts to the provider's webhook over HTTPS.
// In the VPC: metrics (Prometheus + Thanos writing to a customer bucket that is private, KMS-encrypted and
// TLS-only) and logs (encrypted gp3 EBS volumes). Each workload gets its own least-privilege role through EKS
// Pod Identity and a NetworkPolicy that lets it reach only DNS and its one destination.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import { ByocComponent, k8sLabels, KEY_OPTS, RELEASE_TIMEOUT_SECONDS, Role, roleTags, selectorLabels } from "./conventions";
import { NetworkFlow } from "./flows";
import { podIdentityTrustPolicy } from "./render/iam";
import { assertHttpsUrl, renderAlertmanagerConfig } from "./render/alertmanager";
import { renderPrometheusRules } from "./render/prometheusRules";
import {
    billingKeyPrefix, billingObjectArn, billingScraperPolicy, parseS3Arn, parseSqsArn, policyJson,
    s3EndpointPolicy, sqsQueueUrl, stateExporterPolicy, thanosPolicy, tlsOnlyBucketPolicy,
} from "./render/telemetryIam";
import { renderTelemetryNetworkPolicies } from "./render/telemetryNetwork";
import {
    billingScraperContainer, Container, DEFAULT_IMAGES, KUBE_PROMETHEUS_STACK, kubePrometheusStackValues, stateExporterContainer, thanosObjstoreConfig,
} from "./render/telemetryWorkloads";

export interface TelemetryOutboundArgs {
    /** byoc:customer.id: names things and is the billing key prefix. */
    customerId: string;
    environment: "dev" | "prod";
    /** aws:region of the stack (S3 gateway endpoints serve this region only). */
    region: string;
    clusterName: pulumi.Input<string>;
    /** VPC CIDR: scrape targets and the API server's ENIs live in it; it is never "the internet" for egress rules. */
    vpcCidr: string;
    /** ClusterIP of `kubernetes.default` (DataPlaneCluster.apiServerClusterIp). */
    apiServerClusterIp: string;
    /** The S3 gateway endpoint DataPlaneNetwork created; this component owns its policy. */
    s3EndpointId: pulumi.Input<string>;
    billingBucketArn: string;
    stateQueueArn: string;
    alertWebhookUrl: string;
    /** Namespace of the telemetry workloads and the monitoring stack. */
    namespace?: string;
    /** Namespace of the ClickHouse pods (the billing sidecar is injected there by the ClickHouse operator). */
    clickhouseNamespace?: string;
    /** Run the billing scraper as its own Deployment so the S3 path can be exercised; default: dev only. */
    standaloneBillingScraper?: boolean;
    billingScrapeIntervalSeconds?: number;
    /** Days metric blocks are kept in the customer bucket. */
    metricsRetentionDays?: number;
    /** Local Prometheus retention, e.g. "15d". */
    prometheusRetention?: string;
    prometheusStorage?: string;
    images?: Partial<Record<keyof typeof DEFAULT_IMAGES, string>>;
    /** The customer's KMS key (byoc:encryption.kmsKeyArn) for the Thanos bucket; without it the component creates one. */
    kmsKeyArn?: string;
    /** The key of the gp3 volumes (DataPlaneCluster.volumeKeyArn: the customer's or the stack's data key). */
    volumeKeyArn?: pulumi.Input<string>;
}

/** What the ClickHouse operator needs to inject the billing scraper as a sidecar. */
export interface BillingSidecarSpec {
    container: Container;
    volumes: { name: string; emptyDir: { sizeLimit: string } }[];
    /** The ClickHouse pods must run as this service account (it carries the billing role via Pod Identity). */
    serviceAccountName: string;
    namespace: string;
}

export const TELEMETRY_NAMESPACE = "byoc-telemetry";
export const STORAGE_CLASS = "byoc-gp3-encrypted";
export const MONITORING_RELEASE = "byoc-monitoring";
export const SERVICE_ACCOUNTS = { billing: "billing-scraper", state: "state-exporter", prometheus: "byoc-prometheus" } as const;
const THANOS_OBJSTORE = { name: "thanos-objstore", key: "objstore.yml" };

export class TelemetryOutbound extends ByocComponent {
    readonly namespace: string;
    readonly storageClassName: string;
    readonly thanosBucketName: pulumi.Output<string>;
    readonly thanosBucketArn: pulumi.Output<string>;
    readonly thanosKeyArn: pulumi.Output<string>;
    readonly billingRoleArn: pulumi.Output<string>;
    readonly stateExporterRoleArn: pulumi.Output<string>;
    readonly thanosRoleArn: pulumi.Output<string>;
    readonly stateQueueUrl: string;
    readonly billingSidecar: BillingSidecarSpec;
    readonly flows: NetworkFlow[];

    constructor(name: string, args: TelemetryOutboundArgs, opts?: pulumi.ComponentResourceOptions) {
        super("TelemetryOutbound", name, "telemetry", opts);
        const fail = (message: string): never => {
            throw new pulumi.ResourceError(`TelemetryOutbound ${name}: ${message}`, this);
        };
        const check = <T>(f: () => T): T => {
            try {
                return f();
            } catch (e) {
                return fail((e as Error).message);
            }
        };
        // Validate everything derived from config before registering a single child.
        const billingArn = check(() => parseS3Arn(args.billingBucketArn));
        const billingPrefix = check(() => billingKeyPrefix(args.billingBucketArn, args.customerId));
        const billingObjects = check(() => billingObjectArn(args.billingBucketArn, args.customerId));
        const queue = check(() => parseSqsArn(args.stateQueueArn));
        const queueUrl = check(() => sqsQueueUrl(args.stateQueueArn));
        const webhook = check(() => assertHttpsUrl(args.alertWebhookUrl, "telemetry.alertWebhookUrl"));
        const alertmanagerConfig = check(() => renderAlertmanagerConfig({ webhookUrl: args.alertWebhookUrl }));
        const rules = check(() => renderPrometheusRules());
        const retentionDays = args.metricsRetentionDays ?? (args.environment === "prod" ? 365 : 30);
        if (!Number.isInteger(retentionDays) || retentionDays < 1) fail(`metricsRetentionDays ${retentionDays} must be a whole number of days, at least 1`);
        const ns = args.namespace ?? TELEMETRY_NAMESPACE;
        const chNs = args.clickhouseNamespace ?? "clickhouse";
        const standalone = args.standaloneBillingScraper ?? args.environment === "dev";
        const images = { ...DEFAULT_IMAGES, ...(args.images ?? {}) };
        const networkPolicies = check(() =>
            renderTelemetryNetworkPolicies({ vpcCidr: args.vpcCidr, apiServerClusterIp: args.apiServerClusterIp, clickhouseNamespace: chNs, stackRelease: MONITORING_RELEASE, standaloneBillingScraper: standalone }),
        );
        const billingContainer = (metricsUrl: string) =>
            check(() =>
                billingScraperContainer({
                    image: images.billingScraper,
                    bucket: billingArn.bucket,
                    keyPrefix: billingPrefix,
                    region: args.region,
                    scrapeIntervalSeconds: args.billingScrapeIntervalSeconds ?? 60,
                    metricsUrl,
                }),
            );
        const sidecar = billingContainer("http://127.0.0.1:9363/metrics");

        const parent = { parent: this };
        const account = aws.getCallerIdentityOutput({}, parent).accountId;
        const partition = aws.getPartitionOutput({}, parent).partition;
        const clusterArn = pulumi.interpolate`arn:${partition}:eks:${args.region}:${account}:cluster/${args.clusterName}`;

        // --- The customer's metrics bucket: private, KMS-encrypted, TLS-only, expiring. ---
        const keyArn = args.kmsKeyArn !== undefined ? pulumi.output(args.kmsKeyArn) : new aws.kms.Key(`${name}-thanos`, {
            description: `Encrypts the metrics bucket of ${name} (Thanos)`,
            enableKeyRotation: true,
            deletionWindowInDays: 30,
            tags: roleTags("thanos"),
        }, KEY_OPTS(this, args.environment === "prod")).arn;
        const bucket = new aws.s3.Bucket(`${name}-thanos`, { forceDestroy: false, tags: roleTags("thanos") }, args.environment === "prod" ? { ...parent, protect: true } : parent);
        const publicAccess = new aws.s3.BucketPublicAccessBlock(`${name}-thanos`, {
            bucket: bucket.id,
            blockPublicAcls: true,
            blockPublicPolicy: true,
            ignorePublicAcls: true,
            restrictPublicBuckets: true,
        }, parent);
        new aws.s3.BucketOwnershipControls(`${name}-thanos`, { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } }, parent);
        new aws.s3.BucketServerSideEncryptionConfiguration(`${name}-thanos`, {
            bucket: bucket.id,
            rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: keyArn }, bucketKeyEnabled: true }],
        }, parent);
        // No versioning: Thanos blocks are immutable and its deletions are meant; the lifecycle is the retention.
        new aws.s3.BucketLifecycleConfiguration(`${name}-thanos`, {
            bucket: bucket.id,
            rules: [
                { id: "expire-metrics", status: "Enabled", filter: {}, expiration: { days: retentionDays } },
                { id: "abort-incomplete-uploads", status: "Enabled", filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: 1 } },
            ],
        }, parent);
        new aws.s3.BucketPolicy(`${name}-thanos`, {
            bucket: bucket.id,
            policy: bucket.arn.apply((arn) => policyJson(tlsOnlyBucketPolicy(arn))),
        }, { parent: this, dependsOn: [publicAccess] });

        // --- Roles. Pod Identity rather than IRSA: no per-cluster OIDC provider or issuer URL in every trust policy. ---
        const trust = pulumi.all([account, clusterArn]).apply(([a, c]) => policyJson(podIdentityTrustPolicy({ account: a, clusterArn: c })));
        const role = (suffix: string, r: Role, description: string, policy: pulumi.Input<string>) => {
            const created = new aws.iam.Role(`${name}-${suffix}`, { description, assumeRolePolicy: trust, tags: roleTags(r) }, parent);
            new aws.iam.RolePolicy(`${name}-${suffix}`, { role: created.id, policy }, parent);
            return created;
        };
        const billingRole = role("billing-scraper", "billing-scraper", `Billing scraper of ${name}: s3:PutObject under ${billingObjects}`,
            policyJson(billingScraperPolicy(args.billingBucketArn, args.customerId)));
        const stateRole = role("state-exporter", "state-exporter", `State Exporter of ${name}: sqs:SendMessage to ${args.stateQueueArn}`,
            policyJson(stateExporterPolicy(args.stateQueueArn)));
        const thanosRole = role("thanos", "thanos", `Thanos sidecar of ${name}: the customer's metrics bucket`,
            pulumi.all([bucket.arn, keyArn]).apply(([b, k]) => policyJson(thanosPolicy(b, k, args.region))));

        const associate = (suffix: string, r: Role, namespace: string, serviceAccount: string, roleArn: pulumi.Output<string>) =>
            new aws.eks.PodIdentityAssociation(`${name}-${suffix}`, { clusterName: args.clusterName, namespace, serviceAccount, roleArn, tags: roleTags(r) }, parent);
        // The sidecar runs in the ClickHouse pods, so their service account carries the billing role.
        associate("billing-sidecar", "billing-scraper", chNs, SERVICE_ACCOUNTS.billing, billingRole.arn);
        // EKS injects Pod Identity credentials when a pod is created: each workload below waits for its association.
        const associations = {
            billing: standalone ? associate("billing-scraper", "billing-scraper", ns, SERVICE_ACCOUNTS.billing, billingRole.arn) : undefined,
            state: associate("state-exporter", "state-exporter", ns, SERVICE_ACCOUNTS.state, stateRole.arn),
            thanos: associate("thanos", "thanos", ns, SERVICE_ACCOUNTS.prometheus, thanosRole.arn),
        };

        // --- The S3 gateway endpoint admits the provider's billing prefix, the customer's own bucket, and read-only
        // image-layer GETs from the registries' buckets in this region (render/telemetryIam.ts imageLayerBuckets). ---
        new aws.ec2.VpcEndpointPolicy(`${name}-s3-endpoint`, {
            vpcEndpointId: args.s3EndpointId,
            policy: pulumi.all([bucket.arn, account, partition]).apply(([b, a, p]) =>
                policyJson(s3EndpointPolicy({ billingBucketArn: args.billingBucketArn, customer: args.customerId, customerBucketArns: [b], accountId: a, region: args.region, partition: p })),
            ),
        }, parent);

        // --- Kubernetes side. ---
        const namespace = new k8s.core.v1.Namespace(`${name}-telemetry`, {
            metadata: {
                name: ns,
                // node-exporter needs host access, so the namespace cannot enforce "restricted"; it warns and audits.
                labels: { "pod-security.kubernetes.io/warn": "restricted", "pod-security.kubernetes.io/audit": "restricted" },
            },
        }, parent);
        const inNs = { parent: this, dependsOn: [namespace] };

        // Logs and metrics volumes: encrypted gp3 with the volume key (the driver's role may use it: DataPlaneCluster),
        // bound where the pod lands, expandable, kept when the claim goes away.
        const storageClass = new k8s.storage.v1.StorageClass(`${name}-gp3-encrypted`, {
            metadata: { name: STORAGE_CLASS },
            provisioner: "ebs.csi.aws.com",
            // StorageClass parameter kmsKeyId (aws-ebs-csi-driver docs/parameters.md); without one EBS would use aws/ebs.
            parameters: { type: "gp3", encrypted: "true", "csi.storage.k8s.io/fstype": "ext4", ...(args.volumeKeyArn ? { kmsKeyId: args.volumeKeyArn } : {}) },
            allowVolumeExpansion: true,
            volumeBindingMode: "WaitForFirstConsumer",
            reclaimPolicy: "Retain",
        }, { parent: this, deleteBeforeReplace: true }); // parameters are immutable: a new key replaces it under the same name

        for (const p of networkPolicies) {
            new k8s.networking.v1.NetworkPolicy(`${name}-${p.name}`, { metadata: { name: p.name, namespace: ns, labels: k8sLabels(p.role) }, spec: p.spec }, inNs);
        }

        const serviceAccount = (r: Role, saName: string) =>
            new k8s.core.v1.ServiceAccount(`${name}-${saName}`, {
                metadata: { name: saName, namespace: ns, labels: k8sLabels(r) },
                // These workloads never call the Kubernetes API; AWS credentials come from the Pod Identity token.
                automountServiceAccountToken: false,
            }, inNs);
        const deployment = (r: Role, saName: string, container: Container, volumes: { name: string; emptyDir: { sizeLimit: string } }[], association: pulumi.Resource) => {
            const sa = serviceAccount(r, saName);
            const select = selectorLabels(r, saName);
            return new k8s.apps.v1.Deployment(`${name}-${saName}`, {
                metadata: { name: saName, namespace: ns, labels: k8sLabels(r, select) },
                spec: {
                    replicas: 1,
                    selector: { matchLabels: select },
                    template: {
                        metadata: { labels: k8sLabels(r, select) },
                        spec: {
                            serviceAccountName: saName,
                            automountServiceAccountToken: false,
                            securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
                            containers: [container],
                            volumes,
                        },
                    },
                },
            }, { parent: this, dependsOn: [namespace, sa, association] });
        };

        const scratch = [{ name: "billing-scratch", emptyDir: { sizeLimit: "64Mi" } }];
        if (standalone) {
            deployment("billing-scraper", SERVICE_ACCOUNTS.billing, billingContainer(`http://clickhouse.${chNs}.svc.cluster.local:9363/metrics`), scratch, associations.billing!);
        }
        deployment("state-exporter", SERVICE_ACCOUNTS.state, stateExporterContainer({
            image: images.stateExporter,
            queueUrl,
            queueRegion: queue.region,
            clickhouseUrl: `http://clickhouse.${chNs}.svc.cluster.local:8123`,
            customer: args.customerId,
        }), [{ name: "tmp", emptyDir: { sizeLimit: "16Mi" } }], associations.state);

        // Thanos objstore config: bucket and endpoint only; credentials come from Pod Identity.
        const objstore = new k8s.core.v1.Secret(`${name}-thanos-objstore`, {
            metadata: { name: THANOS_OBJSTORE.name, namespace: ns, labels: k8sLabels("thanos") },
            type: "Opaque",
            stringData: { [THANOS_OBJSTORE.key]: bucket.bucket.apply((b) => thanosObjstoreConfig(b, args.region)) },
        }, inNs);

        const values = pulumi.output(args.clusterName).apply((clusterName) =>
            check(() =>
                kubePrometheusStackValues({
                    clusterName,
                    customer: args.customerId,
                    alertmanagerConfig,
                    rules,
                    storageClassName: STORAGE_CLASS,
                    prometheusRetention: args.prometheusRetention ?? (args.environment === "prod" ? "15d" : "7d"),
                    prometheusStorage: args.prometheusStorage ?? (args.environment === "prod" ? "100Gi" : "20Gi"),
                    prometheusServiceAccount: SERVICE_ACCOUNTS.prometheus,
                    thanosObjstoreSecret: THANOS_OBJSTORE,
                    replicas: args.environment === "prod" ? 2 : 1,
                }),
            ),
        );
        new k8s.helm.v3.Release(`${name}-monitoring`, {
            name: MONITORING_RELEASE,
            chart: KUBE_PROMETHEUS_STACK.chart,
            version: KUBE_PROMETHEUS_STACK.version,
            repositoryOpts: { repo: KUBE_PROMETHEUS_STACK.repo },
            namespace: ns,
            values,
            atomic: true,
            cleanupOnFail: true,
            timeout: RELEASE_TIMEOUT_SECONDS,
            maxHistory: 5,
        }, { parent: this, dependsOn: [namespace, storageClass, objstore, associations.thanos] });

        this.namespace = ns;
        this.storageClassName = STORAGE_CLASS;
        this.thanosBucketName = bucket.bucket;
        this.thanosBucketArn = bucket.arn;
        this.thanosKeyArn = keyArn;
        this.billingRoleArn = billingRole.arn;
        this.stateExporterRoleArn = stateRole.arn;
        this.thanosRoleArn = thanosRole.arn;
        this.stateQueueUrl = queueUrl;
        this.billingSidecar = { container: sidecar, volumes: scratch, serviceAccountName: SERVICE_ACCOUNTS.billing, namespace: chNs };
        this.flows = [
            {
                flow: "Billing scraper → provider S3",
                direction: "outbound",
                exposure: "private",
                restrictedBy: pulumi.interpolate`S3 gateway endpoint ${args.s3EndpointId} (+ endpoint policy), role limited to s3:PutObject on ${billingObjects}`,
                component: "TelemetryOutbound",
            },
            {
                flow: "State Exporter → provider SQS",
                direction: "outbound",
                exposure: "public",
                restrictedBy: `role limited to sqs:SendMessage on ${args.stateQueueArn}; egress TCP 443 only`,
                component: "TelemetryOutbound",
            },
            {
                flow: "AlertManager → provider alert webhook",
                direction: "outbound",
                exposure: "public",
                restrictedBy: `HTTPS only (https://${webhook.host}, TLS ≥ 1.2, no redirects); egress TCP 443 only`,
                component: "TelemetryOutbound",
            },
        ];
        this.registerOutputs({
            namespace: this.namespace,
            storageClassName: this.storageClassName,
            thanosBucketName: this.thanosBucketName,
            thanosBucketArn: this.thanosBucketArn,
            thanosKeyArn: this.thanosKeyArn,
            billingRoleArn: this.billingRoleArn,
            stateExporterRoleArn: this.stateExporterRoleArn,
            thanosRoleArn: this.thanosRoleArn,
            stateQueueUrl: this.stateQueueUrl,
            billingSidecar: this.billingSidecar,
        });
    }
}
