// Runs the real program (dev and prod) and judges its NetworkPolicies the way the EKS VPC CNI enforces them
// (test/support/networkPolicy.ts): every workload reaches what it needs, and what it does not need is denied.
//
// The pods are modelled from what the program creates and what the charts it installs create:
//  - the Deployments in the recorded resources (namespace, pod template labels, container ports);
//  - kube-prometheus-stack 67.8.0 (release MONITORING_RELEASE in TELEMETRY_NAMESPACE), labels as its templates
//    render them with this program's values (the recorded Release's `values`):
//      prometheus-community/helm-charts@kube-prometheus-stack-67.8.0:charts/kube-prometheus-stack/templates/
//        _helpers.tpl ("kube-prometheus-stack.labels"), prometheus-operator/_prometheus-operator.tpl,
//        prometheus-operator/deployment.yaml (podLabels appended after the chart's: a repeated key, last one wins
//        when Helm decodes the manifest), prometheus-operator/admission-webhooks/_prometheus-operator-webhook.tpl,
//        .../job-patch/job-createSecret.yaml and job-patchWebhook.yaml, prometheus/service.yaml, alertmanager/service.yaml;
//      subcharts at the versions 67.8.0 resolved (5.28.* and 4.43.* on 2025-01-06): @kube-state-metrics-5.28.0
//        templates/_helpers.tpl + deployment.yaml (releaseLabel: true from the parent's values), and
//        @prometheus-node-exporter-4.43.1 templates/_helpers.tpl + daemonset.yaml (hostNetwork: true, port 9100);
//      the Prometheus and Alertmanager pods are the operator's (chart appVersion v0.79.2):
//        prometheus-operator/prometheus-operator@v0.79.2:pkg/prometheus/server/statefulset.go + operator.go
//        makeSelectorLabels, pkg/alertmanager/statefulset.go + operator.go makeSelectorLabels — podMetadata labels
//        first, the selector labels over them (so managed-by becomes prometheus-operator and instance is the CR name);
//  - the cluster's own: CoreDNS (kube-system, k8s-app=kube-dns, the kube-dns Service with that selector),
//    `kubernetes.default` (no selector; ClusterIP = first address of the pinned service CIDR, stacks/cidr.ts;
//    endpoints = the API server's ENIs in the private subnets), the EKS Pod Identity agent (169.254.170.23:80
//    on every node, host network), two nodes;
//  - ClickHouse (operator-managed, not created here): one pod and the `clickhouse` Service the program's URLs
//    name (clickhouse.<ns>.svc: 8123, 9000, 8443, 9440, 9363). Its labels are an assumption; nothing selects them.
// Public destinations are single addresses standing for S3 (gateway endpoint), SQS, the alert webhook and
// Tailscale's coordination/DERP servers; no traffic is sent anywhere, these are inputs to the evaluator.
import { strict as assert } from "assert";
import { runStack, stackConfig, Stack } from "../harness";
import { Cluster, Destination, Labels, NetworkPolicy, Pod, Service, Source } from "../support/networkPolicy";
import { apiServerClusterIp, kubernetesServiceCidrFor, parseCidr, planSubnets } from "../../stacks/cidr";
import { MONITORING_RELEASE, TELEMETRY_NAMESPACE } from "../../components/TelemetryOutbound";
import { KUBE_PROMETHEUS_STACK } from "../../components/render/telemetryWorkloads";

type Env = "dev" | "prod";
const T = TELEMETRY_NAMESPACE;
const CHART_NAME = "kube-prometheus-stack"; // "kube-prometheus-stack.name": nameOverride is not set
const PUBLIC = { s3: "52.216.10.20", sqs: "52.46.130.20", webhook: "203.0.113.200", tailscale: "192.200.0.101", anywhere: "93.184.216.34" };
const POD_IDENTITY_AGENT = "169.254.170.23";

/** The n-th address of a CIDR, as text. */
function addr(cidr: string, n: number): string {
    const c = parseCidr(cidr)!;
    const v = c.start + BigInt(n);
    return [24n, 16n, 8n, 0n].map((s) => Number((v >> s) & 0xffn)).join(".");
}

interface World {
    env: Env;
    cluster: Cluster;
    policies: NetworkPolicy[];
    pods: Pod[];
    apiClusterIp: string;
    apiEnis: string[];
    nodes: string[];
    vpcCidr: string;
    peered: string[];
    /** Pod names by role, for the cases. */
    p: Record<string, string>;
    /** metadata.name of every Deployment the program creates. */
    deployments: string[];
}

function model(stack: Stack, env: Env): World {
    const config = stackConfig(env);
    const vpcCidr = config.network.vpcCidr;
    const peered = config.network.peering.map((x) => x.cidr);
    const serviceCidr = kubernetesServiceCidrFor(vpcCidr);
    const apiClusterIp = apiServerClusterIp(serviceCidr);
    const subnets = planSubnets(vpcCidr, config.network.azCount).private;
    const nodes = [addr(subnets[0], 10), addr(subnets[1], 10)];
    const apiEnis = [addr(subnets[0], 200), addr(subnets[1], 200)];
    let podCount = 0;
    const nextPod = () => {
        const i = podCount++;
        return { ip: addr(subnets[i % 2], 20 + Math.floor(i / 2)), nodeIp: nodes[i % 2] };
    };
    let svcCount = 0;
    const nextClusterIp = () => addr(serviceCidr, 100 + svcCount++);

    const namespaces = stack.ofType("kubernetes:core/v1:Namespace").map((r) => ({ name: r.inputs.metadata.name as string, labels: (r.inputs.metadata.labels ?? {}) as Labels }));
    namespaces.push({ name: "default", labels: {} }, { name: "kube-system", labels: {} });
    const policies: NetworkPolicy[] = stack.ofType("kubernetes:networking.k8s.io/v1:NetworkPolicy").map((r) => ({
        name: r.inputs.metadata.name,
        namespace: r.inputs.metadata.namespace,
        spec: r.inputs.spec,
    }));
    const pods: Pod[] = [];
    const services: Service[] = [];
    const p: Record<string, string> = {};
    const addPod = (role: string, pod: Omit<Pod, "ip" | "nodeIp"> & Partial<Pick<Pod, "ip" | "nodeIp">>) => {
        pods.push({ ...nextPod(), ...pod });
        p[role] = `${pod.namespace}/${pod.name}`;
    };

    // --- What the program deploys itself.
    const deployments: string[] = [];
    for (const d of stack.ofType("kubernetes:apps/v1:Deployment")) {
        const name = d.inputs.metadata.name as string;
        deployments.push(name);
        const tpl = d.inputs.spec.template;
        const ports = (tpl.spec.containers as { ports?: Pod["ports"] }[]).flatMap((c) => c.ports ?? []);
        for (let i = 0; i < (d.inputs.spec.replicas ?? 1); i++) addPod(i === 0 ? name : `${name}-${i}`, { name: `${name}-${i}`, namespace: d.inputs.metadata.namespace, labels: tpl.metadata.labels, ports });
    }
    for (const s of stack.ofType("kubernetes:core/v1:Service")) {
        if (s.inputs.spec.type !== "ClusterIP") continue;
        services.push({ name: s.inputs.metadata.name, namespace: s.inputs.metadata.namespace, selector: s.inputs.spec.selector, clusterIP: s.outputs.spec?.clusterIP ?? nextClusterIp(), ports: s.inputs.spec.ports });
    }

    // --- kube-prometheus-stack, rendered with the program's values (see the header for the template sources).
    const release = stack.ofType("kubernetes:helm.sh/v3:Release").find((r) => r.inputs.name === MONITORING_RELEASE)!;
    assert.equal(release.inputs.version, "67.8.0", "the chart labels below are read from kube-prometheus-stack 67.8.0");
    assert.equal(release.inputs.namespace, T);
    const values = release.inputs.values;
    const fullname = (values.fullnameOverride as string | undefined)?.slice(0, 26) ?? `${MONITORING_RELEASE}-${CHART_NAME}`.slice(0, 26);
    const replicas = (spec: { replicas?: number }) => spec.replicas ?? 1;
    const chartLabels: Labels = {
        "app.kubernetes.io/managed-by": "Helm",
        "app.kubernetes.io/instance": MONITORING_RELEASE,
        "app.kubernetes.io/version": KUBE_PROMETHEUS_STACK.version,
        "app.kubernetes.io/part-of": CHART_NAME,
        chart: `${CHART_NAME}-${KUBE_PROMETHEUS_STACK.version}`,
        release: MONITORING_RELEASE,
        heritage: "Helm",
    };
    const operatorSelector = { app: `${CHART_NAME}-operator`, release: MONITORING_RELEASE };
    addPod("operator", {
        name: `${fullname}-operator-0`, namespace: T,
        labels: { ...chartLabels, ...operatorSelector, "app.kubernetes.io/name": `${CHART_NAME}-prometheus-operator`, "app.kubernetes.io/component": "prometheus-operator", ...(values.prometheusOperator?.podLabels ?? {}) },
        ports: [{ name: "https", containerPort: 10250 }],
    });
    services.push({ name: `${fullname}-operator`, namespace: T, selector: operatorSelector, clusterIP: nextClusterIp(), ports: [{ name: "https", port: 443, targetPort: "https" }] });
    const webhookLabels = { ...chartLabels, "app.kubernetes.io/name": `${CHART_NAME}-prometheus-operator`, "app.kubernetes.io/component": "prometheus-operator-webhook" };
    addPod("admissionCreate", { name: `${fullname}-admission-create-0`, namespace: T, labels: { app: `${CHART_NAME}-admission-create`, ...webhookLabels } });
    addPod("admissionPatch", { name: `${fullname}-admission-patch-0`, namespace: T, labels: { app: `${CHART_NAME}-admission-patch`, ...webhookLabels } });
    const ksmSelector = { "app.kubernetes.io/name": "kube-state-metrics", "app.kubernetes.io/instance": MONITORING_RELEASE };
    addPod("kubeStateMetrics", {
        name: `${MONITORING_RELEASE}-kube-state-metrics-0`, namespace: T,
        labels: { "helm.sh/chart": "kube-state-metrics-5.28.0", "app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/component": "metrics", "app.kubernetes.io/part-of": "kube-state-metrics", ...ksmSelector, "app.kubernetes.io/version": "2.14.0", release: MONITORING_RELEASE },
        ports: [{ name: "http", containerPort: 8080 }],
    });
    services.push({ name: `${MONITORING_RELEASE}-kube-state-metrics`, namespace: T, selector: ksmSelector, clusterIP: nextClusterIp(), ports: [{ name: "http", port: 8080, targetPort: "http" }] });
    nodes.forEach((nodeIp, i) =>
        addPod(`nodeExporter${i}`, {
            name: `${MONITORING_RELEASE}-prometheus-node-exporter-${i}`, namespace: T, ip: nodeIp, nodeIp, hostNetwork: true,
            labels: { "helm.sh/chart": "prometheus-node-exporter-4.43.1", "app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/component": "metrics", "app.kubernetes.io/part-of": "prometheus-node-exporter", "app.kubernetes.io/name": "prometheus-node-exporter", "app.kubernetes.io/instance": MONITORING_RELEASE, "app.kubernetes.io/version": "1.8.2", release: MONITORING_RELEASE, jobLabel: "node-exporter" },
            ports: [{ name: "metrics", containerPort: 9100 }],
        }),
    );
    const promName = `${fullname}-prometheus`;
    const promSpec = values.prometheus.prometheusSpec;
    for (let i = 0; i < replicas(promSpec); i++) {
        addPod(i === 0 ? "prometheus" : `prometheus${i}`, {
            name: `prometheus-${promName}-${i}`, namespace: T,
            labels: {
                ...(promSpec.podMetadata?.labels ?? {}),
                "app.kubernetes.io/managed-by": "prometheus-operator", "app.kubernetes.io/name": "prometheus", "app.kubernetes.io/instance": promName,
                "operator.prometheus.io/name": promName, prometheus: promName, "operator.prometheus.io/shard": "0",
            },
            ports: [{ name: "http-web", containerPort: 9090 }, { name: "reloader-web", containerPort: 8080 }, { name: "http", containerPort: 10902 }, { name: "grpc", containerPort: 10901 }],
        });
    }
    services.push({ name: promName, namespace: T, selector: { "app.kubernetes.io/name": "prometheus", "operator.prometheus.io/name": promName }, clusterIP: nextClusterIp(), ports: [{ name: "http-web", port: 9090, targetPort: 9090 }, { name: "reloader-web", port: 8080, targetPort: "reloader-web" }] });
    const amName = `${fullname}-alertmanager`;
    const amSpec = values.alertmanager.alertmanagerSpec;
    for (let i = 0; i < replicas(amSpec); i++) {
        addPod(i === 0 ? "alertmanager" : `alertmanager${i}`, {
            name: `alertmanager-${amName}-${i}`, namespace: T,
            labels: { ...(amSpec.podMetadata?.labels ?? {}), "app.kubernetes.io/name": "alertmanager", "app.kubernetes.io/managed-by": "prometheus-operator", "app.kubernetes.io/instance": amName, alertmanager: amName },
            ports: [{ name: "http-web", containerPort: 9093 }, { name: "mesh-tcp", containerPort: 9094 }, { name: "mesh-udp", containerPort: 9094, protocol: "UDP" }, { name: "reloader-web", containerPort: 8080 }],
        });
    }
    services.push({ name: amName, namespace: T, selector: { "app.kubernetes.io/name": "alertmanager", alertmanager: amName }, clusterIP: nextClusterIp(), ports: [{ name: "http-web", port: 9093, targetPort: 9093 }, { name: "reloader-web", port: 8080, targetPort: "reloader-web" }] });

    // --- The cluster's own pods and Services, and ClickHouse.
    for (let i = 0; i < 2; i++) {
        addPod(`coredns${i}`, { name: `coredns-${i}`, namespace: "kube-system", labels: { "k8s-app": "kube-dns", "eks.amazonaws.com/component": "coredns" }, ports: [{ name: "dns", containerPort: 53, protocol: "UDP" }, { name: "dns-tcp", containerPort: 53 }, { name: "metrics", containerPort: 9153 }] });
    }
    services.push({ name: "kube-dns", namespace: "kube-system", selector: { "k8s-app": "kube-dns" }, clusterIP: addr(serviceCidr, 10), ports: [{ name: "dns", port: 53, protocol: "UDP" }, { name: "dns-tcp", port: 53 }, { name: "metrics", port: 9153 }] });
    services.push({ name: "kubernetes", namespace: "default", clusterIP: apiClusterIp, ports: [{ name: "https", port: 443 }], endpoints: apiEnis });
    const chNs = "clickhouse";
    const chPorts = [{ name: "http", containerPort: 8123 }, { name: "tcp", containerPort: 9000 }, { name: "https", containerPort: 8443 }, { name: "secure-native", containerPort: 9440 }, { name: "metrics", containerPort: 9363 }];
    addPod("clickhouse", { name: "chi-byoc-0", namespace: chNs, labels: { "clickhouse.altinity.com/chi": "byoc" }, ports: chPorts });
    services.push({ name: "clickhouse", namespace: chNs, selector: { "clickhouse.altinity.com/chi": "byoc" }, clusterIP: nextClusterIp(), ports: chPorts.map((c) => ({ name: c.name, port: c.containerPort })) });

    const ips = services.map((s) => s.clusterIP);
    assert.equal(new Set(ips).size, ips.length, `two modelled Services share a ClusterIP: ${ips.join(", ")}`);
    return { env, cluster: new Cluster({ policies, pods, services, namespaces }), policies, pods, apiClusterIp, apiEnis, nodes, vpcCidr, peered, p, deployments };
}

// ---- The cases: who must reach what, and what must stay closed.
type Dst = Destination | ((w: World) => Destination);
interface Case {
    from: string | ((w: World) => Source);
    to: Dst;
    what: string;
    allowed: boolean;
    only?: Env;
}
const API: Dst = { service: "default/kubernetes", port: 443 };
const API_ENI: Dst = (w) => ({ ip: w.apiEnis[1], port: 443 });
const DNS: Dst[] = [{ service: "kube-system/kube-dns", port: 53, protocol: "UDP" }, { service: "kube-system/kube-dns", port: 53, protocol: "TCP" }];
const POD_IDENTITY: Dst = { ip: POD_IDENTITY_AGENT, port: 80 };
const pub = (ip: string, port = 443, protocol: "TCP" | "UDP" = "TCP"): Dst => ({ ip, port, protocol });
const svc = (ns: string, name: string, port: number, protocol: "TCP" | "UDP" = "TCP"): Dst => ({ service: `${ns}/${name}`, port, protocol });
const podPort = (role: string, port: number | string, protocol: "TCP" | "UDP" = "TCP"): Dst => (w) => ({ pod: w.p[role], port, protocol });
/** A node the source pod does not run on (its own node is always reachable on the VPC CNI). */
const otherNode = (role: string, port: number): Dst => (w) => {
    const own = w.pods.find((x) => `${x.namespace}/${x.name}` === w.p[role])!.nodeIp;
    return { ip: w.nodes.find((n) => n !== own)!, port };
};

const need = (from: string, to: Dst, what: string, only?: Env): Case => ({ from, to, what, allowed: true, only });
const deny = (from: string | ((w: World) => Source), to: Dst, what: string, only?: Env): Case => ({ from, to, what, allowed: false, only });
const needDns = (from: string, only?: Env) => DNS.map((d) => need(from, d, "DNS (kube-dns Service)", only));

const TELEMETRY: Case[] = [
    // The monitoring stack's API clients: their API traffic dials kubernetes.default's ClusterIP.
    ...["operator", "kubeStateMetrics", "admissionCreate", "admissionPatch", "prometheus"].flatMap((r) => [
        need(r, API, "the Kubernetes API at kubernetes.default's ClusterIP (443)"),
        need(r, API_ENI, "the API server's ENIs in the VPC (443)"),
        ...needDns(r),
    ]),
    need("prometheus1", API, "Kubernetes service discovery (second replica)", "prod"),
    deny("operator", (w) => ({ ip: w.apiClusterIp, port: 80 }), "another port of the API ClusterIP"),
    deny("operator", svc(T, "byoc-monitoring-prometheus", 9090), "another Service's ClusterIP"),
    deny("kubeStateMetrics", pub(PUBLIC.anywhere), "the internet"),
    ...["prometheus", "operator", "kubeStateMetrics"].map((r) => deny(r, (w) => ({ ip: addr(kubernetesServiceCidrFor(w.vpcCidr), 77), port: 443 }), "any other ClusterIP on 443 (the API is a /32)")),
    // The webhook: the API server calls the operator from its ENIs.
    { from: (w) => ({ ip: w.apiEnis[0] }), to: podPort("operator", 10250), what: "API server → operator admission webhook", allowed: true },
    deny((w) => ({ ip: w.apiEnis[0] }), podPort("prometheus", 9090), "API server ENI → Prometheus"),
    // Prometheus scrapes (pod IPs from endpoints/pod discovery) and ships blocks.
    need("prometheus", podPort("state-exporter", "metrics"), "scrape the State Exporter"),
    need("prometheus", podPort("billing-scraper", "metrics"), "scrape the billing scraper", "dev"),
    need("prometheus", podPort("alertmanager", 9093), "send alerts to Alertmanager"),
    need("prometheus", podPort("alertmanager1", 9093), "send alerts to the second Alertmanager", "prod"),
    need("prometheus", podPort("alertmanager", "reloader-web"), "scrape Alertmanager's config reloader"),
    need("prometheus", podPort("kubeStateMetrics", "http"), "scrape kube-state-metrics"),
    need("prometheus", podPort("operator", "https"), "scrape the operator"),
    need("prometheus", podPort("prometheus", "http-web"), "self-scrape"),
    need("prometheus", podPort("prometheus", 10902), "scrape the Thanos sidecar"),
    need("prometheus1", podPort("prometheus", 9090), "scrape the other replica", "prod"),
    need("prometheus", podPort("coredns0", "metrics"), "scrape CoreDNS"),
    need("prometheus", (w) => ({ ip: w.nodes[0], port: 9100 }), "scrape node-exporter (host network)"),
    need("prometheus", (w) => ({ ip: w.nodes[1], port: 9100 }), "scrape node-exporter on the other node"),
    need("prometheus", (w) => ({ ip: w.nodes[1], port: 10250 }), "scrape the kubelet / cAdvisor"),
    need("prometheus", API_ENI, "scrape the API server's endpoints"),
    need("prometheus", POD_IDENTITY, "Thanos: credentials from the Pod Identity agent"),
    need("prometheus", pub(PUBLIC.s3), "Thanos: the metrics bucket through the S3 gateway endpoint"),
    deny("prometheus", pub(PUBLIC.anywhere, 80), "the internet on plain HTTP"),
    deny("prometheus", (w) => ({ ip: addr(w.peered[0] ?? "172.31.0.0/16", 10), port: 443 }), "the peered network", "prod"),
    deny("prometheus", podPort("k8s-tailscale", 8080), "a Tailscale agent"),
    // Senders: DNS, the Pod Identity agent, one ClickHouse port, one public 443 — nothing else.
    ...(["state-exporter", "billing-scraper"] as const).flatMap((r): Case[] => {
        const only: Env | undefined = r === "billing-scraper" ? "dev" : undefined;
        const [chPort, otherChPort] = r === "state-exporter" ? [8123, 9363] : [9363, 8123];
        return [
            ...needDns(r, only),
            need(r, POD_IDENTITY, "AWS credentials from the Pod Identity agent", only),
            need(r, svc("clickhouse", "clickhouse", chPort), `ClickHouse (Service, ${chPort})`, only),
            need(r, pub(r === "state-exporter" ? PUBLIC.sqs : PUBLIC.s3), r === "state-exporter" ? "the provider's SQS queue" : "the provider's S3 bucket (gateway endpoint)", only),
            deny(r, API, "the Kubernetes API (ClusterIP)", only),
            deny(r, API_ENI, "the API server's ENIs", only),
            deny(r, svc("clickhouse", "clickhouse", otherChPort), `ClickHouse on ${otherChPort}`, only),
            deny(r, svc("clickhouse", "clickhouse", 9000), "ClickHouse native protocol", only),
            deny(r, otherNode(r, 10250), "a kubelet elsewhere in the VPC", only),
            deny(r, (w) => ({ ip: addr(w.vpcCidr, 4000), port: 443 }), "an arbitrary VPC address on 443", only),
            deny(r, podPort("prometheus", 9090), "Prometheus", only),
            deny(r, pub(PUBLIC.anywhere, 80), "the internet on port 80", only),
            deny(r, { ip: "169.254.169.254", port: 80 }, "the instance metadata service", only),
        ];
    }),
    // Alertmanager: DNS, its peers, the webhook — no AWS credentials, no API.
    ...needDns("alertmanager"),
    need("alertmanager", pub(PUBLIC.webhook), "the provider's alert webhook"),
    need("alertmanager", podPort("alertmanager1", 9094), "cluster mesh (TCP)", "prod"),
    need("alertmanager", podPort("alertmanager1", 9094, "UDP"), "cluster mesh (UDP)", "prod"),
    deny("alertmanager", POD_IDENTITY, "the Pod Identity agent"),
    deny("alertmanager", API, "the Kubernetes API"),
    deny("alertmanager", pub(PUBLIC.webhook, 80), "the webhook over plain HTTP"),
    deny("alertmanager", podPort("prometheus", 9090), "Prometheus"),
];

const TAILNET: Case[] = [
    ...["k8s", "ch", "metrics"].flatMap((e) => [
        ...needDns(`${e}-tailscale`),
        ...needDns(`${e}-nginx`),
        need(`${e}-tailscale`, pub(PUBLIC.tailscale), "coordination server / DERP (TCP 443)"),
        need(`${e}-tailscale`, pub(PUBLIC.tailscale, 3478, "UDP"), "STUN"),
        need(`${e}-tailscale`, pub(PUBLIC.tailscale, 41641, "UDP"), "direct WireGuard"),
        need(`${e}-tailscale`, API, "the API (its state Secret)"),
        need(`${e}-tailscale`, svc(`tailnet-${e}`, `${e}-nginx`, e === "ch" ? 9440 : 8443), "its nginx through the Service ClusterIP (the serve config)"),
        deny(`${e}-nginx`, podPort(`${e}-tailscale`, 443), "nginx → the agent pod"),
        deny("prometheus", podPort(`${e}-tailscale`, 41641, "UDP"), "Prometheus → an agent pod"),
        deny("istio-ingressgateway", podPort(`${e}-tailscale`, 443), "the ingress gateway → an agent pod"),
        deny((w) => ({ ip: w.apiEnis[0] }), podPort(`${e}-tailscale`, 443), "a VPC address → an agent pod"),
        deny("istio-ingressgateway", podPort(`${e}-nginx`, e === "ch" ? 9440 : 8443), "the ingress gateway → a tailnet nginx"),
    ]),
    need("ch-tailscale", svc("tailnet-ch", "ch-nginx", 8443), "its nginx's second route"),
    need("k8s-nginx", API, "kubernetes.default (the K8s API endpoint's upstream)"),
    need("metrics-nginx", svc(T, "byoc-monitoring-prometheus", 9090), "Prometheus (the metrics endpoint's upstream)"),
    need("ch-nginx", svc("clickhouse", "clickhouse", 9440), "ClickHouse native TLS"),
    need("ch-nginx", svc("clickhouse", "clickhouse", 8443), "ClickHouse HTTPS"),
    deny("metrics-tailscale", svc("tailnet-k8s", "k8s-nginx", 8443), "another endpoint's nginx"),
    deny("k8s-nginx", svc(T, "byoc-monitoring-prometheus", 9090), "Prometheus from the K8s API endpoint"),
    deny("metrics-nginx", API, "the Kubernetes API from the metrics endpoint"),
];

for (const env of ["dev", "prod"] as const) {
    describe(`NetworkPolicy reachability under the VPC CNI (${env})`, function () {
        this.timeout(120_000);
        let w: World;
        before(async () => {
            w = model(await runStack(env), env);
        });

        it("the model covers the program: every NetworkPolicy selects a modelled pod, every Deployment is a pod", () => {
            const selects = (ref: string, pol: NetworkPolicy) =>
                (["Ingress", "Egress"] as const).some((t) => w.cluster.policiesFor(w.cluster.pod(ref), t).some((x) => x.namespace === pol.namespace && x.name === pol.name));
            for (const pol of w.policies) {
                assert.ok(w.pods.some((pod) => selects(`${pod.namespace}/${pod.name}`, pol)), `NetworkPolicy ${pol.namespace}/${pol.name} selects no modelled pod`);
            }
            for (const d of w.deployments) assert.ok(w.p[d], `Deployment ${d} has no modelled pod`);
            for (const role of ["state-exporter", "k8s-nginx", "k8s-tailscale", "ch-nginx", "ch-tailscale", "metrics-nginx", "metrics-tailscale"]) assert.ok(w.deployments.includes(role), `the program deploys ${role}`);
            for (const role of ["operator", "kubeStateMetrics", "admissionCreate", "admissionPatch"]) {
                assert.ok(w.cluster.policiesFor(w.cluster.pod(w.p[role]), "Egress").some((x) => x.name === "monitoring-stack"), `${role} is a monitoring-stack pod`);
            }
            assert.deepEqual(w.cluster.policiesFor(w.cluster.pod(w.p.prometheus), "Egress").map((x) => x.name).sort(), ["default-deny", "prometheus"]);
            assert.deepEqual(w.cluster.policiesFor(w.cluster.pod(w.p.alertmanager), "Egress").map((x) => x.name).sort(), ["alertmanager", "default-deny"]);
        });

        for (const c of [...TELEMETRY, ...TAILNET].filter((x) => !x.only || x.only === env)) {
            const fromText = typeof c.from === "string" ? c.from : "a non-pod address";
            const toText = typeof c.to === "function" ? "" : "service" in c.to ? ` (${c.to.service}:${c.to.port}/${c.to.protocol ?? "TCP"})` : "ip" in c.to ? ` (${c.to.ip}:${c.to.port}/${c.to.protocol ?? "TCP"})` : "";
            it(`${c.allowed ? "allows" : "denies"} ${fromText} → ${c.what}${toText}`, () => {
                const src = typeof c.from === "string" ? w.p[c.from] : c.from(w);
                assert.ok(src, `no modelled pod for role ${String(c.from)}`);
                const dst = typeof c.to === "function" ? c.to(w) : c.to;
                const v = w.cluster.check(src, dst);
                if (v.allowed !== c.allowed) assert.fail(`${fromText} → ${c.what}: expected ${c.allowed ? "ALLOWED" : "DENIED"}, got ${v.allowed ? "allowed" : "denied"}\n    ${v.why.join("\n    ")}`);
            });
        }
    });
}
