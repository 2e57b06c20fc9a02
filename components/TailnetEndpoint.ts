// One managed endpoint on the tailnet (Kubernetes API, ClickHouse system tables, metrics): a unique tailnet
// hostname, a Tailscale agent that only dials out, and an nginx that routes the tailnet's TLS to the in-cluster
// target. Tailscale never routes into the VPC: no subnet routes, no exit node, nothing listens for the internet.
//
// Layout in the endpoint's own namespace:
//   agent pod (tailscale, userspace) --TCP forward (serve config)--> nginx Service (ClusterIP, selects nginx only)
//   --> nginx pod --> target. No Service selects the agent; a deny-all-ingress NetworkPolicy covers the namespace
//   and one more opens only nginx's ports, only to the agent pods.
import { createHash } from "crypto";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as tailscale from "@pulumi/tailscale";
import * as tls from "@pulumi/tls";
import { EndpointKind } from "../stacks/schema";
import { ByocComponent, k8sLabels, restrictedSecurityContext, selectorLabels } from "./conventions";
import { NetworkFlow } from "./flows";
import { NginxMode, NginxSpec, renderNginxConfig } from "./render/nginx";

// The projects' own mirrors off Docker Hub, whose anonymous pulls are limited per IPv4 address (dev nodes share one
// NAT gateway): tailscale publishes to ghcr.io, nginxinc to the ECR Public Gallery (docker-nginx-unprivileged README).
export const TAILSCALE_IMAGE = "ghcr.io/tailscale/tailscale:v1.82.5";
export const NGINX_IMAGE = "public.ecr.aws/nginx/nginx-unprivileged:1.27.5-alpine";

/** Outbound ports the agent needs: coordination/DERP over HTTPS, direct WireGuard, STUN. */
export const AGENT_EGRESS = [
    { protocol: "TCP", port: 443 },
    { protocol: "UDP", port: 41641 },
    { protocol: "UDP", port: 3478 },
] as const;

export interface Route {
    /** Port on the tailnet hostname. */
    tailnetPort: number;
    /** Port nginx listens on in its pod (unprivileged, so > 1024). */
    nginxPort: number;
    /** Default in-cluster target (host:port). */
    target: string;
}

interface EndpointSpec {
    short: string;
    title: string;
    mode: NginxMode;
    routes: Route[];
    /** Re-encrypt to the target and verify it (server name); undefined = plain HTTP inside the cluster. */
    upstreamTlsName?: string;
    denyPathPrefixes?: string[];
}

/** What each endpoint kind exposes. */
export const ENDPOINTS: Record<EndpointKind, EndpointSpec> = {
    "kubernetes-api": {
        short: "k8s",
        title: "K8s API",
        mode: "terminate",
        routes: [{ tailnetPort: 443, nginxPort: 8443, target: "kubernetes.default.svc.cluster.local:443" }],
        upstreamTlsName: "kubernetes.default.svc",
    },
    // Passthrough: ClickHouse itself verifies the engineer's client certificate (TroubleshootingAccess).
    "clickhouse-system": {
        short: "ch",
        title: "system tables",
        mode: "passthrough",
        routes: [
            { tailnetPort: 9440, nginxPort: 9440, target: "clickhouse.clickhouse.svc.cluster.local:9440" },
            { tailnetPort: 8443, nginxPort: 8443, target: "clickhouse.clickhouse.svc.cluster.local:8443" },
        ],
    },
    metrics: {
        short: "metrics",
        title: "metrics",
        mode: "terminate",
        // TelemetryOutbound's Prometheus (kube-prometheus-stack release byoc-monitoring in byoc-telemetry), whose
        // NetworkPolicy admits tailnet-nginx pods on 9090.
        routes: [{ tailnetPort: 443, nginxPort: 8443, target: "byoc-monitoring-prometheus.byoc-telemetry.svc.cluster.local:9090" }],
        // Read the metrics, never administer the TSDB.
        denyPathPrefixes: ["/api/v1/admin/"],
    },
};

/** `<short>.<customer>.<region>.aws.<domain>`, e.g. k8s.acme.us-east-1.aws.byoc.example-prd.com. */
export function tailnetHostname(endpoint: EndpointKind, customer: string, region: string, domain: string): string {
    return `${ENDPOINTS[endpoint].short}.${customer}.${region}.aws.${domain}`;
}

/** The agent's tailnet device name (a DNS label, so MagicDNS answers it on every tailnet client). */
export function tailnetDeviceName(endpoint: EndpointKind, customer: string, region: string): string {
    return `${ENDPOINTS[endpoint].short}-${customer}-${region}`.slice(0, 63);
}

/** The tailnet ports an endpoint answers on (for the ACL grants). */
export function tailnetPorts(endpoint: EndpointKind): number[] {
    return ENDPOINTS[endpoint].routes.map((r) => r.tailnetPort);
}

/** Tailscale serve config (TS_SERVE_CONFIG): raw TCP forwarding, so TLS stays end to end between client and nginx. */
export function serveConfig(routes: { tailnetPort: number; nginxPort: number }[], nginxAddress: string): string {
    const tcp: Record<string, { TCPForward: string }> = {};
    for (const r of routes) tcp[String(r.tailnetPort)] = { TCPForward: `${nginxAddress}:${r.nginxPort}` };
    return JSON.stringify({ TCP: tcp }, null, 2);
}

/** The nginx spec of an endpoint as deployed (paths inside the nginx pod). Tests render it with their own paths. */
export function endpointNginxSpec(endpoint: EndpointKind, hostname: string, routes: Route[] = ENDPOINTS[endpoint].routes, aliases: string[] = []): NginxSpec {
    const spec = ENDPOINTS[endpoint];
    return {
        mode: spec.mode,
        serverName: hostname,
        aliases: aliases.filter((a) => a !== hostname),
        routes: routes.map((r) => ({ listenPort: r.nginxPort, upstream: r.target })),
        tls: spec.mode === "terminate" ? { certificate: "/etc/nginx/tls/tls.crt", key: "/etc/nginx/tls/tls.key" } : undefined,
        upstreamTls: spec.upstreamTlsName ? { trustedCertificate: "/etc/nginx/upstream-ca/ca.crt", serverName: spec.upstreamTlsName } : undefined,
        denyPathPrefixes: spec.denyPathPrefixes,
        runtimeDir: "/tmp/nginx",
        resolverInclude: "/tmp/nginx/resolver.conf",
        errorLog: "stderr",
        accessLog: "/dev/stdout",
    };
}

export interface TailnetEndpointArgs {
    endpoint: EndpointKind;
    customer: string;
    region: string;
    /** byoc:tailscale.domain */
    domain: string;
    /** Tags for the auth key (byoc:tailscale.tags). */
    tags: string[];
    /** The on-call group the ACL admits (for the flow table). */
    oncallGroup: string;
    /** Namespace of the server certificate Secret when the target, not nginx, presents it (clickhouse-system: the ClickHouse pods). */
    serverSecretNamespace?: pulumi.Input<string>;
    /** Auth-key lifetime in seconds (baseline tailscaleKeyExpirySeconds): long enough to start, never 90 days. */
    authKeyExpirySeconds: number;
    /** The stack's internal CA, which signs the endpoint's server certificate. */
    ca: { certPem: pulumi.Input<string>; privateKeyPem: pulumi.Input<string> };
    /** Override the in-cluster targets, one host:port per route (ClickHouse: [native, https]). */
    targets?: string[];
    /** Cap on troubleshooting certificates, for the flow table. */
    maxCertificateHours?: number;
    /** Server certificate lifetime; renewed by `pulumi up` within earlyRenewalHours of its end. */
    serverCertificateHours?: number;
    agentImage?: string;
    nginxImage?: string;
}

const POD_SECURITY = { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } };
/** How long `pulumi up` waits for a new agent to appear on the tailnet. */
const DEVICE_WAIT = "300s";
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

export class TailnetEndpoint extends ByocComponent {
    readonly endpoint: EndpointKind;
    readonly hostname: string;
    /** Device name the agent registers (a DNS label; the FQDN above is published by the provider's tailnet DNS). */
    readonly deviceName: string;
    readonly namespace: pulumi.Output<string>;
    readonly tailnetPorts: number[];
    readonly authKeyId: pulumi.Output<string>;
    readonly serverCertificatePem: pulumi.Output<string>;
    readonly nginxConfig: pulumi.Output<string>;
    /** The device as the tailnet sees it once the agent has logged in: MagicDNS name and tailnet addresses. */
    readonly device: pulumi.Output<{ magicDnsName: string; addresses: string[] }>;
    readonly flows: NetworkFlow[];

    constructor(name: string, args: TailnetEndpointArgs, opts?: pulumi.ComponentResourceOptions) {
        super("TailnetEndpoint", name, "tailscale-agent", opts);
        const spec = ENDPOINTS[args.endpoint];
        const routes = this.validate(name, args, spec);
        this.endpoint = args.endpoint;
        this.hostname = tailnetHostname(args.endpoint, args.customer, args.region, args.domain);
        this.deviceName = tailnetDeviceName(args.endpoint, args.customer, args.region);
        this.tailnetPorts = routes.map((r) => r.tailnetPort);

        const ns = new k8s.core.v1.Namespace(`${name}-ns`, { metadata: { name: `tailnet-${spec.short}` } }, { parent: this });
        const namespace = ns.metadata.name;
        const nsOpts = { parent: this, dependsOn: [ns] };
        const nginxName = `${spec.short}-nginx`;
        const nginxSelector = selectorLabels("tailnet-nginx", nginxName);
        const agentName = `${spec.short}-tailscale`;
        const agentSelector = selectorLabels("tailscale-agent", agentName);

        // Order: nginx Service (its ClusterIP goes into the agent's serve config) → agent → the device as the
        // tailnet registered it → server certificate and nginx, which answer to every name the device is reached by.
        const nginxService = new k8s.core.v1.Service(`${name}-nginx`, {
            metadata: { name: nginxName, namespace, labels: k8sLabels("tailnet-nginx") },
            spec: {
                type: "ClusterIP",
                selector: nginxSelector,
                ports: routes.map((r) => ({ name: `tcp-${r.nginxPort}`, port: r.nginxPort, targetPort: r.nginxPort, protocol: "TCP" })),
            },
        }, nsOpts);
        const agent = this.createAgent(name, args, spec, routes, { namespace, nsOpts, agentName, agentSelector, nginxClusterIp: nginxService.spec.clusterIP });

        // The agent's MagicDNS name (`<device>.<tailnet>.ts.net`) and 100.x addresses exist once it has logged in;
        // waitFor retries the lookup while it does (tailscale provider data_source_device.go).
        const found = tailscale.getDeviceOutput({ hostname: this.deviceName, waitFor: DEVICE_WAIT }, { parent: this, dependsOn: [agent] });
        this.device = found.apply((d) => ({ magicDnsName: (d.name ?? "").replace(/\.$/, ""), addresses: d.addresses ?? [] }));
        // Engineers and management reach the endpoint by its published name, its device name (MagicDNS answers it
        // on every tailnet client) or its MagicDNS FQDN: nginx answers all three, and the certificate names them.
        const names = this.device.apply((d) => [...new Set([this.hostname, this.deviceName, d.magicDnsName].filter((n) => n !== ""))]);

        const serverSecret = this.createServerCertificate(name, args, spec, names, args.serverSecretNamespace ?? namespace, args.serverSecretNamespace ? { parent: this } : nsOpts);
        this.nginxConfig = names.apply((n) => renderNginxConfig(endpointNginxSpec(args.endpoint, this.hostname, routes, n)));
        this.createNginx(name, args, spec, routes, { namespace, nsOpts, nginxName, nginxSelector, serverSecret, certPem: serverSecret.certPem, config: this.nginxConfig });
        this.createNetworkPolicies(name, routes, { namespace, nsOpts, nginxSelector, agentSelector });

        this.namespace = namespace;
        this.authKeyId = agent.authKeyId;
        this.serverCertificatePem = serverSecret.certPem;
        this.flows = TailnetEndpoint.combinedFlows([this], args.oncallGroup, args.maxCertificateHours);
        this.registerOutputs({
            hostname: this.hostname,
            deviceName: this.deviceName,
            device: this.device,
            namespace: this.namespace,
            authKeyId: this.authKeyId,
            serverCertificatePem: this.serverCertificatePem,
        });
    }

    private validate(name: string, args: TailnetEndpointArgs, spec: EndpointSpec | undefined): Route[] {
        if (!spec) {
            throw new pulumi.ResourceError(`TailnetEndpoint ${name}: endpoint ${JSON.stringify(args.endpoint)} is not one of ${Object.keys(ENDPOINTS).join(", ")}`, this);
        }
        if (args.tags.length === 0 || args.tags.some((t) => !/^tag:[a-z0-9][a-z0-9-]*$/.test(t))) {
            throw new pulumi.ResourceError(`TailnetEndpoint ${name}: tags ${JSON.stringify(args.tags)} must be a non-empty list of "tag:…"; auth keys are always tagged`, this);
        }
        if (!Number.isInteger(args.authKeyExpirySeconds) || args.authKeyExpirySeconds < 300 || args.authKeyExpirySeconds > 86400) {
            throw new pulumi.ResourceError(`TailnetEndpoint ${name}: authKeyExpirySeconds = ${args.authKeyExpirySeconds} must be 300–86400 s (hours, never the 90-day default)`, this);
        }
        if (args.targets && args.targets.length !== spec.routes.length) {
            throw new pulumi.ResourceError(`TailnetEndpoint ${name}: targets ${JSON.stringify(args.targets)} must list ${spec.routes.length} host:port value(s) for ${args.endpoint}`, this);
        }
        return spec.routes.map((r, i) => ({ ...r, target: args.targets?.[i] ?? r.target }));
    }

    /**
     * The server certificate for every name of the endpoint, from the stack's internal CA. For clickhouse-system
     * nginx never terminates: the Secret goes where ClickHouse runs, for ClickHouse to present on the tailnet names.
     */
    private createServerCertificate(name: string, args: TailnetEndpointArgs, spec: EndpointSpec, names: pulumi.Output<string[]>, namespace: pulumi.Input<string>, opts: pulumi.CustomResourceOptions) {
        const parent = { parent: this };
        const serverKey = new tls.PrivateKey(`${name}-server`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, parent);
        const serverCsr = new tls.CertRequest(`${name}-server`, {
            privateKeyPem: serverKey.privateKeyPem,
            subject: { commonName: this.hostname, organization: "byoc data plane" },
            dnsNames: names,
        }, parent);
        const serverCert = new tls.LocallySignedCert(`${name}-server`, {
            certRequestPem: serverCsr.certRequestPem,
            caCertPem: args.ca.certPem,
            caPrivateKeyPem: args.ca.privateKeyPem,
            allowedUses: ["server_auth", "digital_signature", "key_encipherment"],
            validityPeriodHours: args.serverCertificateHours ?? 2160,
            earlyRenewalHours: 720,
        }, parent);
        const secret = new k8s.core.v1.Secret(`${name}-server-tls`, {
            metadata: { name: `${spec.short}-server-tls`, namespace, labels: k8sLabels("tailnet-nginx") },
            type: "kubernetes.io/tls",
            stringData: { "tls.crt": pulumi.interpolate`${serverCert.certPem}${args.ca.certPem}`, "tls.key": serverKey.privateKeyPem },
        }, opts);
        return Object.assign(secret, { certPem: serverCert.certPem });
    }

    private createNginx(name: string, args: TailnetEndpointArgs, spec: EndpointSpec, routes: Route[], c: {
        namespace: pulumi.Output<string>; nsOpts: pulumi.CustomResourceOptions; nginxName: string; nginxSelector: Record<string, string>; serverSecret: k8s.core.v1.Secret; certPem: pulumi.Output<string>; config: pulumi.Output<string>;
    }): void {
        const nginxConf = new k8s.core.v1.ConfigMap(`${name}-nginx`, {
            metadata: { name: c.nginxName, namespace: c.namespace, labels: k8sLabels("tailnet-nginx") },
            data: { "nginx.conf": c.config },
        }, c.nsOpts);
        const volumes: k8s.types.input.core.v1.Volume[] = [
            { name: "config", configMap: { name: nginxConf.metadata.name } },
            { name: "tmp", emptyDir: { medium: "Memory", sizeLimit: "64Mi" } },
        ];
        const mounts: k8s.types.input.core.v1.VolumeMount[] = [
            { name: "config", mountPath: "/etc/nginx/tailnet", readOnly: true },
            { name: "tmp", mountPath: "/tmp" },
        ];
        if (spec.mode === "terminate") {
            volumes.push({ name: "tls", secret: { secretName: c.serverSecret.metadata.name } });
            mounts.push({ name: "tls", mountPath: "/etc/nginx/tls", readOnly: true });
        }
        if (spec.upstreamTlsName) {
            // The cluster CA every namespace gets; no service-account token is mounted (nginx never authenticates itself).
            volumes.push({ name: "upstream-ca", configMap: { name: "kube-root-ca.crt" } });
            mounts.push({ name: "upstream-ca", mountPath: "/etc/nginx/upstream-ca", readOnly: true });
        }
        // Targets are resolved at request time through kube-dns, read from the pod's resolv.conf.
        const nginxStart = [
            "mkdir -p /tmp/nginx",
            `awk '/^nameserver/ { print "resolver " $2 " valid=10s ipv6=off;"; exit }' /etc/resolv.conf > /tmp/nginx/resolver.conf`,
            "exec nginx -e stderr -c /etc/nginx/tailnet/nginx.conf -g 'daemon off;'",
        ].join(" && ");
        new k8s.apps.v1.Deployment(`${name}-nginx`, {
            metadata: { name: c.nginxName, namespace: c.namespace, labels: k8sLabels("tailnet-nginx") },
            spec: {
                replicas: 1,
                selector: { matchLabels: c.nginxSelector },
                template: {
                    metadata: {
                        labels: k8sLabels("tailnet-nginx", c.nginxSelector),
                        // A new config or certificate rolls the pod (nginx reads both only at start).
                        annotations: { "byoc.dev/config-sha256": pulumi.all([c.config, c.certPem]).apply(([conf, cert]) => sha256(`${conf}\n${cert}`)) },
                    },
                    spec: {
                        automountServiceAccountToken: false,
                        securityContext: POD_SECURITY,
                        containers: [{
                            name: "nginx",
                            image: args.nginxImage ?? NGINX_IMAGE,
                            command: ["/bin/sh", "-c", nginxStart],
                            ports: routes.map((r) => ({ name: `tcp-${r.nginxPort}`, containerPort: r.nginxPort, protocol: "TCP" })),
                            securityContext: restrictedSecurityContext(101),
                            resources: { requests: { cpu: "20m", memory: "32Mi" }, limits: { cpu: "250m", memory: "128Mi" } },
                            readinessProbe: { tcpSocket: { port: routes[0].nginxPort }, periodSeconds: 10 },
                            volumeMounts: mounts,
                        }],
                        volumes,
                    },
                },
            },
        }, { ...c.nsOpts, dependsOn: [c.serverSecret, nginxConf] });
    }

    /** The Tailscale agent: a single-use tagged key, its state Secret, RBAC for that Secret only, the serve config. */
    private createAgent(name: string, args: TailnetEndpointArgs, spec: EndpointSpec, routes: Route[], c: {
        namespace: pulumi.Output<string>; nsOpts: pulumi.CustomResourceOptions; agentName: string; agentSelector: Record<string, string>; nginxClusterIp: pulumi.Output<string>;
    }) {
        const key = new tailscale.TailnetKey(`${name}-authkey`, {
            description: `byoc ${spec.short} ${args.customer}`.replace(/[^A-Za-z0-9 ]/g, " ").slice(0, 50),
            tags: args.tags,
            preauthorized: true,
            reusable: false,
            // Not ephemeral: the node identity lives in the state Secret and must survive pod restarts.
            ephemeral: false,
            expiry: args.authKeyExpirySeconds,
            // A single-use key is spent by the first login and expires within the hour; the provider recreates
            // single-use keys only with "always" (terraform-provider-tailscale resource_tailnet_key.go), so an
            // `up --refresh` after a failed first start gets a fresh key instead of a dead one.
            recreateIfInvalid: "always",
        }, { parent: this });
        const stateSecretName = `${c.agentName}-state`;
        const authSecret = new k8s.core.v1.Secret(`${name}-authkey`, {
            metadata: { name: `${c.agentName}-authkey`, namespace: c.namespace },
            type: "Opaque",
            stringData: { TS_AUTHKEY: key.key },
        }, { ...c.nsOpts, additionalSecretOutputs: ["stringData", "data"] });
        // Created empty; the agent writes its node state into it (server-side apply leaves those fields alone).
        const stateSecret = new k8s.core.v1.Secret(`${name}-state`, {
            metadata: { name: stateSecretName, namespace: c.namespace },
            type: "Opaque",
        }, c.nsOpts);
        const sa = new k8s.core.v1.ServiceAccount(`${name}-agent`, {
            metadata: { name: c.agentName, namespace: c.namespace },
            automountServiceAccountToken: true,
        }, c.nsOpts);
        const role = new k8s.rbac.v1.Role(`${name}-agent`, {
            metadata: { name: c.agentName, namespace: c.namespace },
            rules: [{ apiGroups: [""], resources: ["secrets"], resourceNames: [stateSecretName], verbs: ["get", "update", "patch"] }],
        }, c.nsOpts);
        const binding = new k8s.rbac.v1.RoleBinding(`${name}-agent`, {
            metadata: { name: c.agentName, namespace: c.namespace },
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
            subjects: [{ kind: "ServiceAccount", name: sa.metadata.name, namespace: c.namespace }],
        }, c.nsOpts);
        // Forward to the nginx Service's ClusterIP (known to Pulumi), so the agent's netstack never needs cluster DNS.
        const serve = new k8s.core.v1.ConfigMap(`${name}-serve`, {
            metadata: { name: `${c.agentName}-serve`, namespace: c.namespace },
            data: { "serve.json": c.nginxClusterIp.apply((ip) => serveConfig(routes, ip)) },
        }, c.nsOpts);
        const deployment = new k8s.apps.v1.Deployment(`${name}-agent`, {
            metadata: { name: c.agentName, namespace: c.namespace },
            spec: {
                // One node identity per state Secret: never two agents at once.
                replicas: 1,
                strategy: { type: "Recreate" },
                selector: { matchLabels: c.agentSelector },
                template: {
                    metadata: { labels: k8sLabels("tailscale-agent", c.agentSelector) },
                    spec: {
                        serviceAccountName: sa.metadata.name,
                        securityContext: POD_SECURITY,
                        containers: [{
                            name: "tailscale",
                            image: args.agentImage ?? TAILSCALE_IMAGE,
                            env: [
                                { name: "TS_USERSPACE", value: "true" },
                                { name: "TS_KUBE_SECRET", value: stateSecret.metadata.name },
                                { name: "TS_AUTHKEY", valueFrom: { secretKeyRef: { name: authSecret.metadata.name, key: "TS_AUTHKEY" } } },
                                // A single-use key is spent after the first login; later starts reuse the stored state.
                                { name: "TS_AUTH_ONCE", value: "true" },
                                { name: "TS_HOSTNAME", value: this.deviceName },
                                { name: "TS_SERVE_CONFIG", value: "/etc/tailscale/serve.json" },
                                { name: "TS_ACCEPT_DNS", value: "false" },
                                { name: "TS_SOCKET", value: "/tmp/tailscaled.sock" },
                                { name: "HOME", value: "/tmp" },
                            ],
                            securityContext: restrictedSecurityContext(1000),
                            resources: { requests: { cpu: "20m", memory: "64Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
                            volumeMounts: [
                                { name: "serve", mountPath: "/etc/tailscale", readOnly: true },
                                { name: "tmp", mountPath: "/tmp" },
                            ],
                        }],
                        volumes: [
                            { name: "serve", configMap: { name: serve.metadata.name } },
                            { name: "tmp", emptyDir: { medium: "Memory", sizeLimit: "64Mi" } },
                        ],
                    },
                },
            },
        }, { ...c.nsOpts, dependsOn: [binding, serve, authSecret, stateSecret] });
        return Object.assign(deployment, { authKeyId: key.id });
    }

    private createNetworkPolicies(name: string, routes: Route[], c: {
        namespace: pulumi.Output<string>; nsOpts: pulumi.CustomResourceOptions; nginxSelector: Record<string, string>; agentSelector: Record<string, string>;
    }): void {
        const policy = (suffix: string, metadataName: string, spec: k8s.types.input.networking.v1.NetworkPolicySpec) =>
            new k8s.networking.v1.NetworkPolicy(`${name}-${suffix}`, { metadata: { name: metadataName, namespace: c.namespace }, spec }, c.nsOpts);
        policy("deny-ingress", "deny-all-ingress", { podSelector: {}, policyTypes: ["Ingress"] });
        policy("nginx-from-agent", "nginx-from-agent", {
            podSelector: { matchLabels: c.nginxSelector },
            policyTypes: ["Ingress"],
            ingress: [{ from: [{ podSelector: { matchLabels: c.agentSelector } }], ports: routes.map((r) => ({ protocol: "TCP", port: r.nginxPort })) }],
        });
        const dns = { to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } } }], ports: [{ protocol: "UDP", port: 53 }, { protocol: "TCP", port: 53 }] };
        policy("agent-egress", "agent-egress", {
            podSelector: { matchLabels: c.agentSelector },
            policyTypes: ["Egress"],
            egress: [
                dns,
                { to: [{ podSelector: { matchLabels: c.nginxSelector } }], ports: routes.map((r) => ({ protocol: "TCP", port: r.nginxPort })) },
                // Coordination server and DERP (TCP 443; also the API server for the state Secret), direct and STUN.
                { ports: AGENT_EGRESS.map((p) => ({ protocol: p.protocol, port: p.port })) },
            ],
        });
        policy("nginx-egress", "nginx-egress", {
            podSelector: { matchLabels: c.nginxSelector },
            policyTypes: ["Egress"],
            egress: [dns, { ports: [...new Set(routes.map((r) => Number(r.target.split(":").pop())))].map((port) => ({ protocol: "TCP", port })) }],
        });
    }

    /** DESIGN §2's two tailnet rows for a set of endpoints (one inbound row naming every target, one outbound row). */
    static combinedFlows(endpoints: TailnetEndpoint[], oncallGroup: string, maxCertificateHours?: number): NetworkFlow[] {
        if (endpoints.length === 0) return [];
        const targets = endpoints.map((e) => ENDPOINTS[e.endpoint].title).join(" / ");
        const ports = [...new Set(endpoints.flatMap((e) => e.tailnetPorts))].sort((a, b) => a - b).map((p) => `tcp:${p}`).join(", ");
        const certs = maxCertificateHours ? `time-bound certs (≤ ${maxCertificateHours} h)` : "time-bound certs";
        return [
            {
                flow: `Engineer → tailnet → nginx → ${targets}`,
                direction: "inbound over an outbound tunnel",
                exposure: "private",
                restrictedBy: `Tailscale ACL grants to ${oncallGroup} (${ports}), ${certs}, no SG ingress, no Service selects the agents, deny-all-ingress NetworkPolicy`,
                component: "TailnetEndpoint",
            },
            {
                flow: "Tailscale agent → coordination / DERP",
                direction: "outbound",
                exposure: "public",
                restrictedBy: `egress only (${AGENT_EGRESS.map((p) => `${p.protocol} ${p.port}`).join(", ")})`,
                component: "TailnetEndpoint",
            },
        ];
    }
}

export interface TailnetCertificateAuthorityArgs {
    customer: string;
    /** CA lifetime; server certificates are re-issued by `pulumi up` long before it ends. */
    validityHours?: number;
}

/** The stack's internal CA for the tailnet endpoints' server certificates (never signs client certificates). */
export class TailnetCertificateAuthority extends ByocComponent {
    readonly certPem: pulumi.Output<string>;
    readonly privateKeyPem: pulumi.Output<string>;

    constructor(name: string, args: TailnetCertificateAuthorityArgs, opts?: pulumi.ComponentResourceOptions) {
        super("TailnetCertificateAuthority", name, undefined, opts);
        const parent = { parent: this };
        const key = new tls.PrivateKey(`${name}-tailnet-ca`, { algorithm: "ECDSA", ecdsaCurve: "P384" }, parent);
        const cert = new tls.SelfSignedCert(`${name}-tailnet-ca`, {
            privateKeyPem: key.privateKeyPem,
            subject: { commonName: `byoc ${args.customer} tailnet endpoints CA`, organization: "byoc data plane" },
            isCaCertificate: true,
            allowedUses: ["cert_signing", "crl_signing"],
            validityPeriodHours: args.validityHours ?? 5 * 8760,
            earlyRenewalHours: 8760,
        }, parent);
        this.certPem = cert.certPem;
        this.privateKeyPem = pulumi.secret(key.privateKeyPem);
        this.registerOutputs({ certPem: this.certPem });
    }
}
