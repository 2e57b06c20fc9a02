// NetworkPolicies of the telemetry namespace, as plain data. Every pod in the namespace is default-denied both
// ways; each workload then gets exactly what it needs: DNS, the EKS Pod Identity agent for AWS credentials, and
// its one outbound destination (S3, SQS or the alert webhook), plus the scrape traffic Prometheus needs.
//
// Trade-off, stated once: a NetworkPolicy selects pods and CIDRs, it cannot name an AWS service. S3 (reached
// through the gateway endpoint) and SQS answer on public addresses that change, and the webhook's addresses are
// the provider's. So "its AWS endpoint / the webhook" is TCP 443 to public addresses (private, link-local and
// CGNAT/tailnet ranges excluded). What each pod can do there is bounded by its IAM role, the S3 endpoint policy
// and, for Alertmanager, a config that only knows the webhook URL. Pinning S3's prefix-list CIDRs instead would
// break billing silently whenever AWS adds a range, until the next `pulumi up`.
//
// The monitoring stack's API clients (the operator, kube-state-metrics, the admission-webhook jobs, Prometheus'
// service discovery) dial `kubernetes.default`, i.e. its ClusterIP. The EKS VPC CNI judges egress on the pod's
// interface before kube-proxy rewrites that address to the API server's ENIs, so allowing the VPC CIDR (where the
// ENIs are) does not admit it; and the controller adds a Service's ClusterIP to a policy only for Services whose
// selector a pod peer matches, which `kubernetes.default` (no selector) never is
// (aws/amazon-network-policy-controller-k8s@v1.1.7:pkg/resolvers/endpoints.go, getMatchingServiceClusterIPs:
// "unable to see the pod IP after the DNAT happens"). So those pods get exactly that ClusterIP, TCP 443.
import { contains, parseCidr } from "../../stacks/cidr";
import { selectorLabels } from "../conventions";

type Labels = Record<string, string>;
interface Port {
    protocol: "TCP" | "UDP";
    port?: number;
}
interface Peer {
    podSelector?: { matchLabels?: Labels };
    namespaceSelector?: { matchLabels?: Labels };
    ipBlock?: { cidr: string; except?: string[] };
}
interface Rule {
    ports?: Port[];
    to?: Peer[];
    from?: Peer[];
}
export interface NetworkPolicySpec {
    podSelector: { matchLabels?: Labels };
    policyTypes: ("Ingress" | "Egress")[];
    ingress?: Rule[];
    egress?: Rule[];
}
export interface RenderedNetworkPolicy {
    /** metadata.name, also the suffix of the Pulumi resource name. */
    name: string;
    /** app.kubernetes.io/component of the policy object. */
    role: string;
    spec: NetworkPolicySpec;
}

export interface TelemetryNetworkOptions {
    vpcCidr: string;
    /** Namespace of the ClickHouse pods the billing scraper (dev) and the State Exporter read from. */
    clickhouseNamespace: string;
    /** Helm release name of kube-prometheus-stack: its operator, kube-state-metrics and jobs carry it as instance. */
    stackRelease: string;
    /** Render the standalone billing scraper's policy (dev only). */
    standaloneBillingScraper: boolean;
    /** ClusterIP of `kubernetes.default` (first address of the pinned service CIDR): egress is judged before DNAT. */
    apiServerClusterIp: string;
}

/** Ports the telemetry workloads listen on / reach. */
export const PORTS = {
    metrics: 8080,
    clickhouseHttp: 8123,
    clickhouseMetrics: 9363,
    prometheus: 9090,
    thanosGrpc: 10901,
    alertmanager: 9093,
    alertmanagerMesh: 9094,
    operatorWebhook: 10250,
    podIdentityAgent: 80,
} as const;

/** The EKS Pod Identity agent's link-local address (a DaemonSet on every node). */
export const POD_IDENTITY_AGENT = "169.254.170.23/32";

/** Never "the internet": private, loopback, link-local (IMDS) and CGNAT (tailnet) ranges. */
export const NON_PUBLIC = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16", "127.0.0.0/8"];

export const WORKLOAD_SELECTORS = {
    billingScraper: selectorLabels("billing-scraper", "billing-scraper"),
    stateExporter: selectorLabels("state-exporter", "state-exporter"),
    prometheus: selectorLabels("prometheus", "prometheus"),
    alertmanager: selectorLabels("alertmanager", "alertmanager"),
} as const;

/** ipBlock for "public addresses": 0.0.0.0/0 minus non-public ranges and the VPC (whatever range it uses). */
export function publicInternet(vpcCidr: string): Peer {
    const vpc = parseCidr(vpcCidr);
    if (!vpc || vpc.kind !== "ipv4") throw new Error(`vpcCidr "${vpcCidr}" must be an IPv4 CIDR such as 10.40.0.0/16`);
    const covered = NON_PUBLIC.some((c) => contains(parseCidr(c)!, vpc));
    return { ipBlock: { cidr: "0.0.0.0/0", except: covered ? [...NON_PUBLIC] : [...NON_PUBLIC, vpc.text] } };
}

/** `<ip>/32`: the one address a rule admits; refuses anything but a plain IPv4 address. */
function hostBlock(ip: string, what: string): string {
    const c = parseCidr(`${ip}/32`);
    if (!c || c.kind !== "ipv4") throw new Error(`${what} "${ip}" must be an IPv4 address such as 172.20.0.1`);
    return c.text;
}

const tcp = (...ports: number[]): Port[] => ports.map((port) => ({ protocol: "TCP", port }));
const pods = (matchLabels: Labels): Peer => ({ podSelector: { matchLabels } });
const inNamespace = (name: string, matchLabels?: Labels): Peer => ({
    namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": name } },
    ...(matchLabels ? { podSelector: { matchLabels } } : {}),
});

const DNS: Rule = { to: [inNamespace("kube-system", { "k8s-app": "kube-dns" })], ports: [{ protocol: "UDP", port: 53 }, { protocol: "TCP", port: 53 }] };
const POD_IDENTITY: Rule = { to: [{ ipBlock: { cidr: POD_IDENTITY_AGENT } }], ports: tcp(PORTS.podIdentityAgent) };
const FROM_PROMETHEUS = (...ports: number[]): Rule => ({ from: [pods(WORKLOAD_SELECTORS.prometheus)], ports: tcp(...ports) });
/** The tailnet nginx of the metrics endpoint (TailnetEndpoint), in whatever namespace it runs. */
const TAILNET_NGINX: Peer = { namespaceSelector: {}, podSelector: { matchLabels: { "app.kubernetes.io/component": "tailnet-nginx" } } };

export function renderTelemetryNetworkPolicies(o: TelemetryNetworkOptions): RenderedNetworkPolicy[] {
    const internet = publicInternet(o.vpcCidr);
    const vpc: Peer = { ipBlock: { cidr: parseCidr(o.vpcCidr)!.text } };
    // The Kubernetes API as pods dial it (kubernetes.default's ClusterIP, before DNAT; see the header).
    const apiServer: Rule = { to: [{ ipBlock: { cidr: hostBlock(o.apiServerClusterIp, "apiServerClusterIp") } }], ports: tcp(443) };
    const both = ["Ingress", "Egress"] as NetworkPolicySpec["policyTypes"];
    const policies: RenderedNetworkPolicy[] = [
        // Anything in the namespace that no policy below names can neither send nor receive.
        { name: "default-deny", role: "telemetry", spec: { podSelector: {}, policyTypes: both } },
    ];
    // A sender: scraped by Prometheus, reads ClickHouse on one port, and sends to its one AWS endpoint over 443
    // (provider S3 through the gateway endpoint, or the public SQS endpoint: public addresses, see the header).
    const sender = (name: "billing-scraper" | "state-exporter", selector: Record<string, string>, clickhousePort: number): RenderedNetworkPolicy => ({
        name,
        role: name,
        spec: {
            podSelector: { matchLabels: selector },
            policyTypes: both,
            ingress: [FROM_PROMETHEUS(PORTS.metrics)],
            egress: [DNS, POD_IDENTITY, { to: [inNamespace(o.clickhouseNamespace)], ports: tcp(clickhousePort) }, { to: [internet], ports: tcp(443) }],
        },
    });
    if (o.standaloneBillingScraper) policies.push(sender("billing-scraper", WORKLOAD_SELECTORS.billingScraper, PORTS.clickhouseMetrics));
    policies.push(
        sender("state-exporter", WORKLOAD_SELECTORS.stateExporter, PORTS.clickhouseHttp),
        {
            name: "alertmanager",
            role: "alertmanager",
            spec: {
                podSelector: { matchLabels: WORKLOAD_SELECTORS.alertmanager },
                policyTypes: both,
                ingress: [
                    FROM_PROMETHEUS(PORTS.alertmanager, PORTS.metrics),
                    { from: [pods(WORKLOAD_SELECTORS.alertmanager)], ports: [...tcp(PORTS.alertmanagerMesh), { protocol: "UDP", port: PORTS.alertmanagerMesh }] },
                ],
                egress: [
                    DNS,
                    { to: [pods(WORKLOAD_SELECTORS.alertmanager)], ports: [...tcp(PORTS.alertmanagerMesh), { protocol: "UDP", port: PORTS.alertmanagerMesh }] },
                    // The provider's alert webhook: HTTPS only.
                    { to: [internet], ports: tcp(443) },
                ],
            },
        },
        {
            name: "prometheus",
            role: "prometheus",
            spec: {
                podSelector: { matchLabels: WORKLOAD_SELECTORS.prometheus },
                policyTypes: both,
                ingress: [
                    // Self-scrape (Prometheus, config reloader, Thanos sidecar metrics).
                    { from: [pods(WORKLOAD_SELECTORS.prometheus)] },
                    // The provider's dashboards, through the tailnet metrics endpoint only.
                    { from: [TAILNET_NGINX], ports: tcp(PORTS.prometheus, PORTS.thanosGrpc) },
                ],
                egress: [
                    DNS,
                    POD_IDENTITY,
                    // Kubernetes service discovery: the scrape configs the operator generates list targets from the API.
                    apiServer,
                    // Scraping: pods and node agents (kubelet, node-exporter) anywhere in the VPC, the API server's ENIs, Alertmanager.
                    { to: [vpc] },
                    // Thanos sidecar → the customer's metrics bucket through the S3 gateway endpoint.
                    { to: [internet], ports: tcp(443) },
                ],
            },
        },
        {
            name: "monitoring-stack",
            role: "prometheus",
            spec: {
                // The operator, kube-state-metrics and the chart's admission-webhook jobs.
                podSelector: { matchLabels: { "app.kubernetes.io/instance": o.stackRelease } },
                policyTypes: both,
                ingress: [
                    { from: [pods(WORKLOAD_SELECTORS.prometheus)] },
                    // The API server calls the operator's admission webhook from its ENIs in the VPC.
                    { from: [vpc], ports: tcp(PORTS.operatorWebhook) },
                ],
                // All of them are API clients: the ClusterIP they dial, and the API server's ENIs in the VPC.
                egress: [DNS, apiServer, { to: [vpc], ports: tcp(443) }],
            },
        },
    );
    return policies;
}
