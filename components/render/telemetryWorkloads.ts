// Container specs of the telemetry workloads and the kube-prometheus-stack values, as plain data: what the
// billing scraper sidecar looks like (exported for the ClickHouse operator to inject), the State Exporter, and
// how Prometheus, Thanos and Alertmanager are configured. No engine involved, so each is unit-testable.
import { restrictedSecurityContext } from "../conventions";
import { AlertmanagerConfig } from "./alertmanager";
import { RuleGroup } from "./prometheusRules";
import { PORTS, WORKLOAD_SELECTORS } from "./telemetryNetwork";
import { k8sLabels } from "../conventions";

/** kube-prometheus-stack, pinned: values below are written against this chart version. */
export const KUBE_PROMETHEUS_STACK = { chart: "kube-prometheus-stack", version: "67.8.0", repo: "https://prometheus-community.github.io/helm-charts" } as const;

export const DEFAULT_IMAGES = {
    billingScraper: "public.ecr.aws/byoc-provider/billing-scraper:1.6.0",
    stateExporter: "public.ecr.aws/byoc-provider/state-exporter:1.3.2",
} as const;

export interface Container {
    name: string;
    image: string;
    env: { name: string; value: string }[];
    ports: { name: string; containerPort: number; protocol: "TCP" }[];
    resources: { requests: Record<string, string>; limits: Record<string, string> };
    securityContext: ReturnType<typeof restrictedSecurityContext>;
    volumeMounts: { name: string; mountPath: string }[];
}

export interface BillingScraperOptions {
    image: string;
    /** Provider bucket name (not ARN) and the key prefix this customer writes under. */
    bucket: string;
    keyPrefix: string;
    region: string;
    /** Seconds between scrapes of ClickHouse's CPU/memory metrics. */
    scrapeIntervalSeconds: number;
    /** Where ClickHouse exposes its metrics: localhost as a sidecar, a Service in the standalone dev Deployment. */
    metricsUrl: string;
}

export function billingScraperContainer(o: BillingScraperOptions): Container {
    if (!Number.isInteger(o.scrapeIntervalSeconds) || o.scrapeIntervalSeconds < 10 || o.scrapeIntervalSeconds > 3600) {
        throw new Error(`billing scrapeIntervalSeconds ${o.scrapeIntervalSeconds} must be a whole number between 10 and 3600`);
    }
    return {
        name: "billing-scraper",
        image: o.image,
        env: [
            { name: "BILLING_BUCKET", value: o.bucket },
            { name: "BILLING_PREFIX", value: o.keyPrefix },
            { name: "AWS_REGION", value: o.region },
            { name: "SCRAPE_INTERVAL", value: `${o.scrapeIntervalSeconds}s` },
            { name: "CLICKHOUSE_METRICS_URL", value: o.metricsUrl },
            { name: "METRICS_PORT", value: String(PORTS.metrics) },
        ],
        ports: [{ name: "metrics", containerPort: PORTS.metrics, protocol: "TCP" }],
        resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { cpu: "100m", memory: "128Mi" } },
        securityContext: restrictedSecurityContext(),
        // Read-only root: the only writable place is a small scratch dir for batches awaiting upload.
        volumeMounts: [{ name: "billing-scratch", mountPath: "/tmp" }],
    };
}

export interface StateExporterOptions {
    image: string;
    queueUrl: string;
    queueRegion: string;
    clickhouseUrl: string;
    customer: string;
}

export function stateExporterContainer(o: StateExporterOptions): Container {
    return {
        name: "state-exporter",
        image: o.image,
        env: [
            { name: "STATE_QUEUE_URL", value: o.queueUrl },
            { name: "AWS_REGION", value: o.queueRegion },
            { name: "CLICKHOUSE_URL", value: o.clickhouseUrl },
            { name: "CUSTOMER_ID", value: o.customer },
            { name: "METRICS_PORT", value: String(PORTS.metrics) },
        ],
        ports: [{ name: "metrics", containerPort: PORTS.metrics, protocol: "TCP" }],
        resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { cpu: "100m", memory: "128Mi" } },
        securityContext: restrictedSecurityContext(),
        volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
    };
}

export interface StackValuesOptions {
    clusterName: string;
    customer: string;
    alertmanagerConfig: AlertmanagerConfig;
    rules: { groups: RuleGroup[] };
    storageClassName: string;
    prometheusRetention: string;
    prometheusStorage: string;
    prometheusServiceAccount: string;
    thanosObjstoreSecret: { name: string; key: string };
    replicas: number;
}

const podLabels = (role: "prometheus" | "alertmanager") => ({ ...k8sLabels(role), ...WORKLOAD_SELECTORS[role] });

/** Values for kube-prometheus-stack: metrics stay in the VPC (encrypted volumes, customer bucket), alerts go out. */
export function kubePrometheusStackValues(o: StackValuesOptions) {
    if (!/^\d+[dhw]$/.test(o.prometheusRetention)) throw new Error(`prometheusRetention "${o.prometheusRetention}" must be a duration such as 15d`);
    const volume = (size: string) => ({
        volumeClaimTemplate: { spec: { storageClassName: o.storageClassName, accessModes: ["ReadWriteOnce"], resources: { requests: { storage: size } } } },
    });
    // The operator pod is Helm's (managed-by: Helm), so it gets our part-of/component labels but not managed-by.
    const { "app.kubernetes.io/managed-by": _helm, ...operatorLabels } = k8sLabels("prometheus");
    void _helm;
    return {
        fullnameOverride: "byoc-monitoring",
        // Grafana stays off: the provider's dashboards read metrics through the tailnet metrics endpoint.
        grafana: { enabled: false },
        defaultRules: {
            create: true,
            // Off with their monitors below; the chart renders each group only if both are on
            // (prometheus-community/helm-charts@kube-prometheus-stack-67.8.0:charts/kube-prometheus-stack/templates/prometheus/rules-1.14/).
            rules: { kubeControllerManager: false, kubeSchedulerAlerting: false, kubeSchedulerRecording: false, etcd: false, kubeProxy: false },
            // This program ships its own Watchdog (see prometheusRules.ts); the chart's would fire twice.
            disabled: { Watchdog: true },
        },
        // EKS runs the controller manager, scheduler and etcd out of the cluster's network, so these monitors
        // find no target and KubeControllerManagerDown / KubeSchedulerDown / etcd alerts would page from day one
        // (EKS offers their metrics only through the API server:
        // https://docs.aws.amazon.com/eks/latest/userguide/view-raw-metrics.html). kube-proxy runs on the nodes but
        // EKS configures metricsBindAddress 127.0.0.1:10249, unreachable from Prometheus, so KubeProxyDown would
        // fire too (terraform-aws-modules/terraform-aws-eks#742, eksctl-io/eksctl#4081).
        kubeControllerManager: { enabled: false },
        kubeScheduler: { enabled: false },
        kubeEtcd: { enabled: false },
        kubeProxy: { enabled: false },
        additionalPrometheusRulesMap: { "byoc-telemetry": o.rules },
        alertmanager: {
            enabled: true,
            config: o.alertmanagerConfig,
            alertmanagerSpec: {
                replicas: o.replicas,
                podMetadata: { labels: podLabels("alertmanager") },
                storage: volume("5Gi"),
                retention: "120h",
                resources: { requests: { cpu: "20m", memory: "64Mi" }, limits: { memory: "256Mi" } },
            },
        },
        prometheus: {
            serviceAccount: { create: true, name: o.prometheusServiceAccount },
            // Thanos sidecar metrics (upload failures feed ThanosSidecarUploadFailing).
            thanosService: { enabled: true },
            thanosServiceMonitor: { enabled: true },
            additionalPodMonitors: [
                {
                    name: "byoc-telemetry",
                    jobLabel: "app.kubernetes.io/name",
                    namespaceSelector: { any: true },
                    selector: {
                        matchExpressions: [{ key: "app.kubernetes.io/component", operator: "In", values: ["billing-scraper", "state-exporter"] }],
                    },
                    podMetricsEndpoints: [{ port: "metrics", interval: "30s" }],
                },
            ],
            prometheusSpec: {
                replicas: o.replicas,
                podMetadata: { labels: podLabels("prometheus") },
                externalLabels: { cluster: o.clusterName, customer: o.customer },
                retention: o.prometheusRetention,
                storageSpec: volume(o.prometheusStorage),
                resources: { requests: { cpu: "200m", memory: "1Gi" }, limits: { memory: "4Gi" } },
                // Rules and monitors of this release only (the default) — nothing else can inject alerts.
                ruleSelectorNilUsesHelmValues: true,
                thanos: { objectStorageConfig: { existingSecret: o.thanosObjstoreSecret } },
            },
        },
        prometheusOperator: { podLabels: operatorLabels },
    };
}

/** Thanos objstore.yml for the customer bucket; credentials come from Pod Identity, so none are written here. */
export function thanosObjstoreConfig(bucket: string, region: string): string {
    return [
        "type: S3",
        "config:",
        `  bucket: ${JSON.stringify(bucket)}`,
        `  endpoint: ${JSON.stringify(`s3.${region}.amazonaws.com`)}`,
        `  region: ${JSON.stringify(region)}`,
        // The AWS SDK credential chain understands EKS Pod Identity (container credentials + token file).
        "  aws_sdk_auth: true",
        "",
    ].join("\n");
}
