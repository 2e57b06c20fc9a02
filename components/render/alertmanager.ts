// Alertmanager configuration for the data plane, as one plain function: everything routes to the provider's alert
// webhook over HTTPS (TLS ≥ 1.2, no redirects, so a 30x can never downgrade it to http), grouped per alert,
// cluster and namespace, with critical inhibiting lesser severities of the same alert, and a Watchdog heartbeat
// on its own fast-repeating route so the provider notices when alerts stop arriving at all.
import { stringify } from "yaml";

export const RECEIVERS = {
    /** Every real alert. */
    webhook: "provider-webhook",
    /** The always-firing Watchdog, repeated often: the provider alarms when it stops. */
    heartbeat: "provider-heartbeat",
    /** Alerts that exist only to drive inhibition (kube-prometheus-stack's InfoInhibitor). */
    blackhole: "null",
} as const;

export const HEARTBEAT_ALERT = "Watchdog";
export const INFO_INHIBITOR_ALERT = "InfoInhibitor";

export interface AlertmanagerOptions {
    /** The provider's alert webhook; must be https://. */
    webhookUrl: string;
    /** Where the heartbeat goes; defaults to the webhook itself (the provider tells them apart by alertname). */
    heartbeatUrl?: string;
    groupBy?: string[];
    groupWait?: string;
    groupInterval?: string;
    repeatInterval?: string;
    /** How often the Watchdog is re-sent while it fires (i.e. always). */
    heartbeatInterval?: string;
}

/** The subset of the Alertmanager configuration schema this program writes. */
export interface AlertmanagerConfig {
    global: { resolve_timeout: string; http_config: HttpConfig };
    route: Route;
    inhibit_rules: InhibitRule[];
    receivers: Receiver[];
}
interface HttpConfig {
    follow_redirects: boolean;
    enable_http2: boolean;
    tls_config: { min_version: "TLS12" | "TLS13"; insecure_skip_verify: false };
}
interface Route {
    receiver: string;
    matchers?: string[];
    group_by?: string[];
    group_wait?: string;
    group_interval?: string;
    repeat_interval?: string;
    continue?: boolean;
    routes?: Route[];
}
interface InhibitRule {
    source_matchers: string[];
    target_matchers: string[];
    equal: string[];
}
interface Receiver {
    name: string;
    webhook_configs?: { url: string; send_resolved: boolean; max_alerts: number; http_config: HttpConfig }[];
}

const DURATION = /^(\d+(ms|s|m|h|d|w|y))+$/;

/** Throws unless `url` is an absolute https:// URL with a host and no embedded user:password. */
export function assertHttpsUrl(url: string, what = "alertWebhookUrl"): URL {
    let parsed: URL;
    try {
        parsed = new URL(url);
    } catch {
        throw new Error(`${what} "${url}" is not a URL; use an https:// URL such as https://alerts.example.com/hooks/byoc`);
    }
    if (parsed.protocol !== "https:") {
        throw new Error(`${what} "${url}" uses ${parsed.protocol.replace(/:$/, "")}; alerts leave the VPC over HTTPS only (https://…)`);
    }
    if (!parsed.hostname) throw new Error(`${what} "${url}" has no host`);
    if (parsed.username || parsed.password) {
        throw new Error(`${what} "${url}" embeds credentials; put a token in the path or use a bearer token, never user:password in the URL`);
    }
    return parsed;
}

function assertDuration(value: string, what: string): string {
    if (!DURATION.test(value)) throw new Error(`Alertmanager ${what} "${value}" is not a duration such as 30s, 5m or 4h`);
    return value;
}

/** HTTP client settings shared by every webhook: TLS 1.2+, certificate verified, redirects refused. */
function httpsOnly(): HttpConfig {
    return { follow_redirects: false, enable_http2: true, tls_config: { min_version: "TLS12", insecure_skip_verify: false } };
}

export function renderAlertmanagerConfig(opts: AlertmanagerOptions): AlertmanagerConfig {
    const webhook = assertHttpsUrl(opts.webhookUrl).toString();
    const heartbeat = assertHttpsUrl(opts.heartbeatUrl ?? opts.webhookUrl, "heartbeatUrl").toString();
    const groupBy = opts.groupBy ?? ["alertname", "cluster", "namespace"];
    if (groupBy.length === 0) throw new Error("Alertmanager groupBy is empty; group at least by alertname");
    const groupWait = assertDuration(opts.groupWait ?? "30s", "groupWait");
    const groupInterval = assertDuration(opts.groupInterval ?? "5m", "groupInterval");
    const repeatInterval = assertDuration(opts.repeatInterval ?? "4h", "repeatInterval");
    const heartbeatInterval = assertDuration(opts.heartbeatInterval ?? "1m", "heartbeatInterval");

    return {
        global: { resolve_timeout: "5m", http_config: httpsOnly() },
        route: {
            receiver: RECEIVERS.webhook,
            group_by: groupBy,
            group_wait: groupWait,
            group_interval: groupInterval,
            repeat_interval: repeatInterval,
            routes: [
                // The heartbeat first: it must never be grouped with, delayed by, or inhibited like real alerts.
                {
                    receiver: RECEIVERS.heartbeat,
                    matchers: [`alertname="${HEARTBEAT_ALERT}"`],
                    group_by: ["alertname", "cluster"],
                    group_wait: "0s",
                    group_interval: heartbeatInterval,
                    repeat_interval: heartbeatInterval,
                },
                { receiver: RECEIVERS.blackhole, matchers: [`alertname="${INFO_INHIBITOR_ALERT}"`] },
                // Critical alerts go out sooner and are repeated more often than the default.
                { receiver: RECEIVERS.webhook, matchers: ['severity="critical"'], group_wait: "10s", repeat_interval: "1h" },
            ],
        },
        inhibit_rules: [
            { source_matchers: ['severity="critical"'], target_matchers: ['severity=~"warning|info"'], equal: ["alertname", "cluster", "namespace"] },
            { source_matchers: ['severity="warning"'], target_matchers: ['severity="info"'], equal: ["alertname", "cluster", "namespace"] },
            { source_matchers: [`alertname="${INFO_INHIBITOR_ALERT}"`], target_matchers: ['severity="info"'], equal: ["cluster", "namespace"] },
        ],
        receivers: [
            { name: RECEIVERS.webhook, webhook_configs: [{ url: webhook, send_resolved: true, max_alerts: 0, http_config: httpsOnly() }] },
            // Resolution of an always-firing alert means nothing; only its presence matters.
            { name: RECEIVERS.heartbeat, webhook_configs: [{ url: heartbeat, send_resolved: false, max_alerts: 0, http_config: httpsOnly() }] },
            { name: RECEIVERS.blackhole },
        ],
    };
}

/** The configuration as alertmanager.yml text. */
export function renderAlertmanagerYaml(opts: AlertmanagerOptions): string {
    return stringify(renderAlertmanagerConfig(opts), { lineWidth: 0 });
}
