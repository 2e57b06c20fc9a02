// The Prometheus rules this program ships with the monitoring stack: the Watchdog heartbeat (always firing, so
// the provider notices when alerts stop reaching it) and the health of the three outbound telemetry paths
// (billing uploads, State Exporter sends, Thanos uploads to the customer bucket). Plain data, unit-tested with
// the real promtool; kube-prometheus-stack loads it through `additionalPrometheusRulesMap`.
import { stringify } from "yaml";
import { HEARTBEAT_ALERT } from "./alertmanager";

export interface RuleGroup {
    name: string;
    interval?: string;
    rules: Rule[];
}
export type Rule =
    | { record: string; expr: string; labels?: Record<string, string> }
    | { alert: string; expr: string; for?: string; labels: Record<string, string>; annotations: Record<string, string> };

export interface PrometheusRulesOptions {
    /** Billing data older than this is an incident: the provider bills from it. Default 30 minutes. */
    billingStaleSeconds?: number;
    /** `job` label of the State Exporter's scrape target (the PodMonitor's job label value). */
    stateExporterJob?: string;
}

/** Metrics the billing scraper and State Exporter expose (their contract with these rules). */
export const TELEMETRY_METRICS = {
    billingLastUpload: "byoc_billing_last_upload_success_timestamp_seconds",
    stateSendErrors: "byoc_state_exporter_send_errors_total",
} as const;

export const RECORDS = {
    billingUploadAge: "byoc:billing_upload_age_seconds",
    stateSendErrorRate: "byoc:state_exporter_send_errors:rate10m",
} as const;

export function renderPrometheusRules(opts: PrometheusRulesOptions = {}): { groups: RuleGroup[] } {
    const stale = opts.billingStaleSeconds ?? 1800;
    if (!Number.isInteger(stale) || stale < 60) throw new Error(`billingStaleSeconds ${stale} must be a whole number of seconds, at least 60`);
    const job = opts.stateExporterJob ?? "state-exporter";
    if (!/^[a-zA-Z0-9_.:-]+$/.test(job)) throw new Error(`stateExporterJob "${job}" must be a plain job name (letters, digits, _ . : -)`);

    return {
        groups: [
            {
                name: "byoc-heartbeat",
                rules: [
                    {
                        alert: HEARTBEAT_ALERT,
                        expr: "vector(1)",
                        labels: { severity: "none" },
                        annotations: {
                            summary: "Heartbeat: the alerting pipeline of this data plane works.",
                            description: "Always firing. Alertmanager re-sends it every minute to the provider's heartbeat receiver; its absence there means alerts from this data plane are not arriving.",
                        },
                    },
                ],
            },
            {
                // Records first, alerts after, in one group: rules of a group run in order, so the alerts read this
                // evaluation's records. In separate groups they would see them one interval late, or not, by chance.
                name: "byoc-telemetry",
                rules: [
                    { record: RECORDS.billingUploadAge, expr: `time() - max by (namespace, pod) (${TELEMETRY_METRICS.billingLastUpload})` },
                    { record: RECORDS.stateSendErrorRate, expr: `sum by (namespace) (rate(${TELEMETRY_METRICS.stateSendErrors}[10m]))` },
                    {
                        alert: "BillingUploadStale",
                        expr: `${RECORDS.billingUploadAge} > ${stale}`,
                        for: "5m",
                        labels: { severity: "critical" },
                        annotations: {
                            summary: "Billing data is not reaching the provider's bucket.",
                            description: `Billing scraper {{ $labels.namespace }}/{{ $labels.pod }} last uploaded {{ $value | humanizeDuration }} ago (limit ${stale}s). Check its role (s3:PutObject on the customer prefix), the S3 gateway endpoint policy and its NetworkPolicy.`,
                        },
                    },
                    {
                        alert: "StateExporterDown",
                        expr: `absent(up{job="${job}"} == 1)`,
                        for: "10m",
                        labels: { severity: "critical" },
                        annotations: {
                            summary: "The State Exporter is not running or not scraped.",
                            description: "No healthy State Exporter target for 10 minutes: the provider no longer receives service state.",
                        },
                    },
                    {
                        alert: "StateExporterSendFailing",
                        expr: `${RECORDS.stateSendErrorRate} > 0`,
                        for: "15m",
                        labels: { severity: "warning" },
                        annotations: {
                            summary: "The State Exporter fails to send to the provider's SQS queue.",
                            description: "{{ $value | humanize }} send errors per second in {{ $labels.namespace }} for 15 minutes. Check its role (sqs:SendMessage on the queue) and egress to SQS.",
                        },
                    },
                    {
                        alert: "ThanosSidecarUploadFailing",
                        expr: "sum by (namespace, pod) (increase(thanos_shipper_upload_failures_total[1h])) > 0",
                        for: "15m",
                        labels: { severity: "warning" },
                        annotations: {
                            summary: "Thanos cannot upload metric blocks to the customer's bucket.",
                            description: "{{ $labels.namespace }}/{{ $labels.pod }} failed {{ $value | humanize }} block uploads in the last hour. Metrics stay on the Prometheus volume until it recovers.",
                        },
                    },
                ],
            },
        ],
    };
}

/** The rules as a Prometheus rule file. */
export function renderPrometheusRulesYaml(opts: PrometheusRulesOptions = {}): string {
    return stringify(renderPrometheusRules(opts), { lineWidth: 0 });
}
