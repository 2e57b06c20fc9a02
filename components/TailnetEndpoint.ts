// One managed endpoint on the tailnet (Kubernetes API, ClickHouse system tables, metrics): a unique tailnet
// hostname, a Tailscale agent that only dials out, and an nginx that routes the tailnet's TLS to the in-cluster
// target. Tailscale never routes into the VPC: no subnet routes, no exit node, nothing listens for the internet.
//
// Layout in the endpoint's own namespace:
//   agent pod (tailscale, userspace) --TCP forward (serve config)--> nginx Service (ClusterIP, selects nginx only)
//   --> nginx pod --> target. No Service selects the agent; a deny-all-ingress NetworkPolicy covers the namespace
//   and one more opens only nginx's ports, only to the agent pods.
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as tailscale from "@pulumi/tailscale";
import * as tls from "@pulumi/tls";
import { EndpointKind } from "../stacks/schema";
import { ByocComponent, k8sLabels, restrictedSecurityContext, selectorLabels } from "./conventions";
import { NetworkFlow } from "./flows";
import { NginxMode, NginxSpec, renderNginxConfig } from "./render/nginx";

export const TAILSCALE_IMAGE = "tailscale/tailscale:v1.82.5";
export const NGINX_IMAGE = "nginxinc/nginx-unprivileged:1.27.5-alpine";

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
export function endpointNginxSpec(endpoint: EndpointKind, hostname: string, routes: Route[] = ENDPOINTS[endpoint].routes): NginxSpec {
    const spec = ENDPOINTS[endpoint];
    return {
        mode: spec.mode,
        serverName: hostname,
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

export class TailnetEndpoint extends ByocComponent {
    readonly endpoint: EndpointKind;
    readonly hostname: string;
    /** Device name the agent registers (a DNS label; the FQDN above is published by the provider's tailnet DNS). */
    readonly deviceName: string;
    readonly namespace: pulumi.Output<string>;
    readonly tailnetPorts: number[];
    readonly authKeyId: pulumi.Output<string>;
    readonly serverCertificatePem: pulumi.Output<string>;
    readonly nginxConfig: string;
    readonly flows: NetworkFlow[];

    constructor(name: string, args: TailnetEndpointArgs, opts?: pulumi.ComponentResourceOptions) {
        super("TailnetEndpoint", name, "tailscale-agent", opts);
        const parent = { parent: this };
        const spec = ENDPOINTS[args.endpoint];
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
        const routes = spec.routes.map((r, i) => ({ ...r, target: args.targets?.[i] ?? r.target }));
        this.endpoint = args.endpoint;
        this.hostname = tailnetHostname(args.endpoint, args.customer, args.region, args.domain);
        this.deviceName = tailnetDeviceName(args.endpoint, args.customer, args.region);
        this.tailnetPorts = routes.map((r) => r.tailnetPort);

        const ns = new k8s.core.v1.Namespace(`${name}-ns`, { metadata: { name: `tailnet-${spec.short}` } }, parent);
        const namespace = ns.metadata.name;
        const nsOpts = { parent: this, dependsOn: [ns] };

        // ---- server certificate for the tailnet hostname, from the stack's internal CA ----
        const serverKey = new tls.PrivateKey(`${name}-server`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, parent);
        const serverCsr = new tls.CertRequest(`${name}-server`, {
            privateKeyPem: serverKey.privateKeyPem,
            subject: { commonName: this.hostname, organization: "byoc data plane" },
            dnsNames: [this.hostname],
        }, parent);
        const serverCert = new tls.LocallySignedCert(`${name}-server`, {
            certRequestPem: serverCsr.certRequestPem,
            caCertPem: args.ca.certPem,
            caPrivateKeyPem: args.ca.privateKeyPem,
            allowedUses: ["server_auth", "digital_signature", "key_encipherment"],
            validityPeriodHours: args.serverCertificateHours ?? 2160,
            earlyRenewalHours: 720,
        }, parent);
        // For clickhouse-system nginx never terminates: this Secret is for ClickHouse to present on the tailnet name.
        const serverSecret = new k8s.core.v1.Secret(`${name}-server-tls`, {
            metadata: { name: `${spec.short}-server-tls`, namespace, labels: k8sLabels("tailnet-nginx") },
            type: "kubernetes.io/tls",
            stringData: { "tls.crt": pulumi.interpolate`${serverCert.certPem}${args.ca.certPem}`, "tls.key": serverKey.privateKeyPem },
        }, nsOpts);

        // ---- nginx: ConfigMap, Deployment, Service (selects nginx pods only) ----
        const nginxName = `${spec.short}-nginx`;
        const nginxSelector = selectorLabels("tailnet-nginx", nginxName);
        this.nginxConfig = renderNginxConfig(endpointNginxSpec(args.endpoint, this.hostname, routes));
        const nginxConf = new k8s.core.v1.ConfigMap(`${name}-nginx`, {
            metadata: { name: nginxName, namespace, labels: k8sLabels("tailnet-nginx") },
            data: { "nginx.conf": this.nginxConfig },
        }, nsOpts);
        const volumes: k8s.types.input.core.v1.Volume[] = [
            { name: "config", configMap: { name: nginxConf.metadata.name } },
            { name: "tmp", emptyDir: { medium: "Memory", sizeLimit: "64Mi" } },
        ];
        const mounts: k8s.types.input.core.v1.VolumeMount[] = [
            { name: "config", mountPath: "/etc/nginx/tailnet", readOnly: true },
            { name: "tmp", mountPath: "/tmp" },
        ];
        if (spec.mode === "terminate") {
            volumes.push({ name: "tls", secret: { secretName: serverSecret.metadata.name } });
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
            metadata: { name: nginxName, namespace, labels: k8sLabels("tailnet-nginx") },
            spec: {
                replicas: 1,
                selector: { matchLabels: nginxSelector },
                template: {
                    metadata: { labels: k8sLabels("tailnet-nginx", nginxSelector) },
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
        }, nsOpts);
        const nginxService = new k8s.core.v1.Service(`${name}-nginx`, {
            metadata: { name: nginxName, namespace, labels: k8sLabels("tailnet-nginx") },
            spec: {
                type: "ClusterIP",
                selector: nginxSelector,
                ports: routes.map((r) => ({ name: `tcp-${r.nginxPort}`, port: r.nginxPort, targetPort: r.nginxPort, protocol: "TCP" })),
            },
        }, nsOpts);

        // ---- Tailscale agent ----
        const key = new tailscale.TailnetKey(`${name}-authkey`, {
            description: `byoc ${spec.short} ${args.customer}`.replace(/[^A-Za-z0-9 ]/g, " ").slice(0, 50),
            tags: args.tags,
            preauthorized: true,
            reusable: false,
            // Not ephemeral: the node identity lives in the state Secret and must survive pod restarts.
            ephemeral: false,
            expiry: args.authKeyExpirySeconds,
        }, parent);
        const agentName = `${spec.short}-tailscale`;
        const agentSelector = selectorLabels("tailscale-agent", agentName);
        const stateSecretName = `${agentName}-state`;
        const authSecret = new k8s.core.v1.Secret(`${name}-authkey`, {
            metadata: { name: `${agentName}-authkey`, namespace },
            type: "Opaque",
            stringData: { TS_AUTHKEY: key.key },
        }, { ...nsOpts, additionalSecretOutputs: ["stringData", "data"] });
        // Created empty; the agent writes its node state into it (server-side apply leaves those fields alone).
        const stateSecret = new k8s.core.v1.Secret(`${name}-state`, {
            metadata: { name: stateSecretName, namespace },
            type: "Opaque",
        }, nsOpts);
        const sa = new k8s.core.v1.ServiceAccount(`${name}-agent`, {
            metadata: { name: agentName, namespace },
            automountServiceAccountToken: true,
        }, nsOpts);
        const role = new k8s.rbac.v1.Role(`${name}-agent`, {
            metadata: { name: agentName, namespace },
            rules: [{ apiGroups: [""], resources: ["secrets"], resourceNames: [stateSecretName], verbs: ["get", "update", "patch"] }],
        }, nsOpts);
        new k8s.rbac.v1.RoleBinding(`${name}-agent`, {
            metadata: { name: agentName, namespace },
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
            subjects: [{ kind: "ServiceAccount", name: sa.metadata.name, namespace }],
        }, nsOpts);
        // Forward to the nginx Service's ClusterIP (known to Pulumi), so the agent's netstack never needs cluster DNS.
        const serve = new k8s.core.v1.ConfigMap(`${name}-serve`, {
            metadata: { name: `${agentName}-serve`, namespace },
            data: { "serve.json": nginxService.spec.clusterIP.apply((ip) => serveConfig(routes, ip)) },
        }, nsOpts);
        new k8s.apps.v1.Deployment(`${name}-agent`, {
            metadata: { name: agentName, namespace },
            spec: {
                // One node identity per state Secret: never two agents at once.
                replicas: 1,
                strategy: { type: "Recreate" },
                selector: { matchLabels: agentSelector },
                template: {
                    metadata: { labels: k8sLabels("tailscale-agent", agentSelector) },
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
        }, nsOpts);

        // ---- NetworkPolicies ----
        new k8s.networking.v1.NetworkPolicy(`${name}-deny-ingress`, {
            metadata: { name: "deny-all-ingress", namespace },
            spec: { podSelector: {}, policyTypes: ["Ingress"] },
        }, nsOpts);
        new k8s.networking.v1.NetworkPolicy(`${name}-nginx-from-agent`, {
            metadata: { name: "nginx-from-agent", namespace },
            spec: {
                podSelector: { matchLabels: nginxSelector },
                policyTypes: ["Ingress"],
                ingress: [{ from: [{ podSelector: { matchLabels: agentSelector } }], ports: routes.map((r) => ({ protocol: "TCP", port: r.nginxPort })) }],
            },
        }, nsOpts);
        const dns = { to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } } }], ports: [{ protocol: "UDP", port: 53 }, { protocol: "TCP", port: 53 }] };
        new k8s.networking.v1.NetworkPolicy(`${name}-agent-egress`, {
            metadata: { name: "agent-egress", namespace },
            spec: {
                podSelector: { matchLabels: agentSelector },
                policyTypes: ["Egress"],
                egress: [
                    dns,
                    { to: [{ podSelector: { matchLabels: nginxSelector } }], ports: routes.map((r) => ({ protocol: "TCP", port: r.nginxPort })) },
                    // Coordination server and DERP (TCP 443; also the API server for the state Secret), direct and STUN.
                    { ports: AGENT_EGRESS.map((p) => ({ protocol: p.protocol, port: p.port })) },
                ],
            },
        }, nsOpts);
        new k8s.networking.v1.NetworkPolicy(`${name}-nginx-egress`, {
            metadata: { name: "nginx-egress", namespace },
            spec: {
                podSelector: { matchLabels: nginxSelector },
                policyTypes: ["Egress"],
                egress: [dns, { ports: [...new Set(routes.map((r) => Number(r.target.split(":").pop())))].map((port) => ({ protocol: "TCP", port })) }],
            },
        }, nsOpts);

        this.namespace = namespace;
        this.authKeyId = key.id;
        this.serverCertificatePem = serverCert.certPem;
        this.flows = TailnetEndpoint.combinedFlows([this], args.oncallGroup, args.maxCertificateHours);
        this.registerOutputs({
            hostname: this.hostname,
            deviceName: this.deviceName,
            namespace: this.namespace,
            authKeyId: this.authKeyId,
            serverCertificatePem: this.serverCertificatePem,
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
