// Pure builders for the ingress path (client → NLB → Istio → ClickHouse): the Kubernetes, Istio and cert-manager
// objects, the Helm values, the IAM policy documents and the flow row. No engine here, so every object can be
// checked against its schema (kubernetes-models) and against the policy rules in plain unit tests.
//
// Return types come from kubernetes-models (type-only imports, erased at run time) so a misspelt field is a
// compile error, not an object the API server silently prunes.
import type { INamespace, IService, IServiceAccount } from "kubernetes-models/v1";
import type { IDeployment } from "kubernetes-models/apps/v1";
import type { IRole, IRoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1";
import type { IPodDisruptionBudget } from "kubernetes-models/policy/v1";
import type { IHorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import type { IGateway, IVirtualService } from "@kubernetes-models/istio/networking.istio.io/v1beta1";
import type { IAuthorizationPolicy } from "@kubernetes-models/istio/security.istio.io/v1";
import type { ICertificate } from "@kubernetes-models/cert-manager/cert-manager.io/v1";
import { opensToInternet, parseCidr } from "../../stacks/cidr";
import { k8sLabels, selectorLabels } from "../conventions";
import { PolicyDocument } from "./iam";

export const ROLE = "ingress-gateway";

/** Namespaces: the gateway and its certificate Secret share one (Istio reads credentialName from the gateway's namespace). */
export const NS = {
    gateway: "istio-ingress",
    istio: "istio-system",
    certManager: "cert-manager",
    loadBalancerController: "kube-system",
} as const;

export const GATEWAY_NAME = "istio-ingressgateway";
/** Label the Istio Gateway resource selects; the Istio convention for ingress gateways. */
export const GATEWAY_SELECTOR = { istio: "ingressgateway" } as const;
export const LBC_SERVICE_ACCOUNT = "aws-load-balancer-controller";
export const CERT_MANAGER_SERVICE_ACCOUNT = "cert-manager";

/**
 * Pinned charts. `k8s.helm.v3.Release` fetches them inside the provider at deploy time, never while the program
 * runs; a pinned version makes every `pulumi up` install the same thing (and the IAM policy below matches it).
 */
export const CHARTS = {
    loadBalancerController: { chart: "aws-load-balancer-controller", repo: "https://aws.github.io/eks-charts", version: "1.13.3" },
    istioBase: { chart: "base", repo: "https://istio-release.storage.googleapis.com/charts", version: "1.26.2" },
    istiod: { chart: "istiod", repo: "https://istio-release.storage.googleapis.com/charts", version: "1.26.2" },
    certManager: { chart: "cert-manager", repo: "https://charts.jetstack.io", version: "v1.18.2" },
} as const;

export const ACME_SERVERS = {
    production: "https://acme-v02.api.letsencrypt.org/directory",
    staging: "https://acme-staging-v02.api.letsencrypt.org/directory",
} as const;

/** Client-facing ports. 443 and 8443 are the ClickHouse HTTPS interface, 9440 the secure native protocol. */
export const PORTS = { http: 80, https: 443, clickhouseHttps: 8443, clickhouseNative: 9440 } as const;

export type IngressMode = "public" | "private" | "privatelink";
export type AcmeServer = "staging" | "production";

/** The in-cluster ClickHouse service the gateway forwards to (TLS ends at Istio; the hop stays inside the VPC). */
export interface ClickHouseTarget {
    host: string;
    httpPort: number;
    nativePort: number;
}
export const DEFAULT_CLICKHOUSE: ClickHouseTarget = { host: "clickhouse.clickhouse.svc.cluster.local", httpPort: 8123, nativePort: 9000 };

export interface IngressSettings {
    environment: "dev" | "prod";
    mode: IngressMode;
    ipAllowList: string[];
    /** CIDRs of peered customer VPCs (byoc:network.peering[].cidr). */
    peeredCidrs: string[];
    domain: string;
    acmeEmail: string;
    acmeServer: AcmeServer;
}

export interface SettingsProblem {
    /** The argument, as the stack config names it (e.g. "ingress.acmeServer"). */
    arg: string;
    value: unknown;
    message: string;
}

/** Everything the component refuses, one entry per problem; the component turns them into a ResourceError. */
export function settingsProblems(s: IngressSettings): SettingsProblem[] {
    const out: SettingsProblem[] = [];
    if (s.ipAllowList.length === 0) {
        out.push({ arg: "ingress.ipAllowList", value: s.ipAllowList, message: "is empty; the NLB always needs an IP allow list (client CIDRs such as 203.0.113.0/24)" });
    }
    s.ipAllowList.forEach((c, i) => {
        if (!parseCidr(c)) out.push({ arg: `ingress.ipAllowList[${i}]`, value: c, message: "is not a CIDR (address/prefix with host bits zero, such as 203.0.113.0/24)" });
        else if (s.environment === "prod" && opensToInternet(c)) out.push({ arg: `ingress.ipAllowList[${i}]`, value: c, message: "opens the ingress to the whole internet, which prod does not allow; list the client networks" });
    });
    s.peeredCidrs.forEach((c, i) => {
        if (!parseCidr(c)) out.push({ arg: `network.peering[${i}].cidr`, value: c, message: "is not a CIDR" });
    });
    if (s.environment === "prod" && s.acmeServer !== "production") {
        out.push({ arg: "ingress.acmeServer", value: s.acmeServer, message: 'must be "production" in prod: Let\'s Encrypt staging certificates are not trusted by clients' });
    }
    if (s.mode === "private" && s.peeredCidrs.length === 0) {
        out.push({ arg: "ingress.mode", value: s.mode, message: "private ingress is an internal NLB reached over VPC peering; list at least one network.peering entry" });
    }
    return out;
}

/** The NLB source ranges: the allow list, plus the peered VPCs when the NLB is internal. Canonical and de-duplicated. */
export function effectiveAllowList(s: Pick<IngressSettings, "mode" | "ipAllowList" | "peeredCidrs">): string[] {
    const all = [...s.ipAllowList, ...(s.mode === "private" ? s.peeredCidrs : [])];
    return [...new Set(all.map((c) => parseCidr(c)?.text ?? c))];
}

export const schemeFor = (mode: IngressMode): "internet-facing" | "internal" => (mode === "public" ? "internet-facing" : "internal");


/**
 * The controller registers the gateway pods (the Service's endpoints, IP targets; a ClusterIP Service is enough)
 * into a target group Pulumi owns (TargetGroupBinding, elbv2.k8s.aws/v1beta1 at v2.13.3). No `networking`: the
 * security-group rules are Pulumi's (IngressGateway.createPrivateLink).
 */
export function targetGroupBinding<T>(a: { port: number; targetGroupArn: T; vpcId: T }) {
    return {
        apiVersion: "elbv2.k8s.aws/v1beta1" as const,
        kind: "TargetGroupBinding" as const,
        metadata: { name: `${GATEWAY_NAME}-${a.port}`, namespace: NS.gateway },
        spec: {
            serviceRef: { name: GATEWAY_NAME, port: a.port },
            targetGroupARN: a.targetGroupArn,
            targetType: "ip" as const,
            // Set explicitly: the controller's webhook fills them in otherwise and then refuses an update that
            // clears them as immutable (webhooks/elbv2/targetgroupbinding_{mutator,validator}.go).
            vpcID: a.vpcId,
            ipAddressType: "ipv4" as const,
        },
    };
}

/** Gateway ports reached through the PrivateLink NLB: TLS only (no port 80 redirect over a private connection). */
export const PRIVATELINK_PORTS = [PORTS.https, PORTS.clickhouseHttps, PORTS.clickhouseNative] as const;

/** The name clients connect to; covered by the `*.<domain>` certificate. */
export const hostnameFor = (domain: string, label = "clickhouse") => `${label}.${domain}`;
export const wildcardFor = (domain: string) => `*.${domain}`;
export const certificateSecretName = "clickhouse-ingress-tls";
export const issuerNameFor = (server: AcmeServer) => `letsencrypt-${server}`;

// ---------------------------------------------------------------------------------------------------------------
// Kubernetes objects of the gateway

/**
 * The gateway namespace enforces the `baseline` Pod Security Standard and warns on anything below `restricted`
 * (the gateway pod meets it); it holds the one workload exposed to clients.
 */
export function namespaces(): INamespace[] {
    const podSecurity = {
        "pod-security.kubernetes.io/enforce": "baseline",
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/audit": "restricted",
        // The Load Balancer Controller injects its target-health readiness gate into pods of labelled namespaces
        // (its pod webhook's default namespaceSelector): a rolling update of the gateway then waits until the NLB
        // sends traffic to the new pod before the old one goes.
        [POD_READINESS_GATE_LABEL]: "enabled",
    };
    return [NS.istio, NS.gateway, NS.certManager].map((name) => ({
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name, ...(name === NS.gateway ? { labels: podSecurity } : {}) },
    }));
}

export const PROXY_CONFIG_ANNOTATION = "proxy.istio.io/config";
export const POD_READINESS_GATE_LABEL = "elbv2.k8s.aws/pod-readiness-gate-inject";

/**
 * istiod serves the gateway's `credentialName` Secret over SDS only to a proxy whose service account may read
 * Secrets in its namespace (SubjectAccessReview in pilot/pkg/credentials/kube/secrets.go); Istio's own gateway
 * chart grants exactly this Role. Without it every TLS handshake on 443/8443/9440 fails.
 */
export function gatewaySecretReaderRole(): IRole {
    return {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "Role",
        metadata: { name: `${GATEWAY_NAME}-sds`, namespace: NS.gateway },
        rules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["get", "watch", "list"] }],
    };
}

export function gatewaySecretReaderBinding(): IRoleBinding {
    return {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: `${GATEWAY_NAME}-sds`, namespace: NS.gateway },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: `${GATEWAY_NAME}-sds` },
        subjects: [{ kind: "ServiceAccount", name: GATEWAY_NAME, namespace: NS.gateway }],
    };
}

export function gatewayServiceAccount(): IServiceAccount {
    return { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: GATEWAY_NAME, namespace: NS.gateway }, automountServiceAccountToken: true };
}

const podLabels = () => ({ ...k8sLabels(ROLE, selectorLabels(ROLE, GATEWAY_NAME)), ...GATEWAY_SELECTOR, "sidecar.istio.io/inject": "true" });

/**
 * The gateway Deployment: an empty `istio-proxy` container with image `auto`, filled in by istiod's injection
 * webhook with the `gateway` template (the pattern of Istio's own gateway chart), so the proxy always matches the
 * control plane version.
 */
export function gatewayDeployment(replicas: { min: number }, proxyProtocol = false): IDeployment {
    return {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: GATEWAY_NAME, namespace: NS.gateway },
        spec: {
            // No `replicas`: the HPA owns it; the field would fight the autoscaler on every `pulumi up`.
            selector: { matchLabels: selectorLabels(ROLE, GATEWAY_NAME) },
            strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
            template: {
                metadata: {
                    labels: podLabels(),
                    annotations: {
                        "inject.istio.io/templates": "gateway",
                        "prometheus.io/scrape": "true",
                        "prometheus.io/port": "15020",
                        "prometheus.io/path": "/stats/prometheus",
                        // PrivateLink: the NLB's target groups send a PROXY v2 header carrying the client's address;
                        // the gateway's listeners read it, so remoteIpBlocks (the allow list) sees the real client.
                        ...(proxyProtocol ? { [PROXY_CONFIG_ANNOTATION]: JSON.stringify({ gatewayTopology: { proxyProtocol: {} } }) } : {}),
                    },
                },
                spec: {
                    serviceAccountName: GATEWAY_NAME,
                    // Envoy binds 80/443 directly (Service port = container port); a namespaced sysctl, no privileges.
                    securityContext: {
                        sysctls: [{ name: "net.ipv4.ip_unprivileged_port_start", value: "0" }],
                        seccompProfile: { type: "RuntimeDefault" },
                    },
                    terminationGracePeriodSeconds: 30,
                    topologySpreadConstraints: [{
                        maxSkew: 1,
                        topologyKey: "topology.kubernetes.io/zone",
                        whenUnsatisfiable: replicas.min > 1 ? "DoNotSchedule" : "ScheduleAnyway",
                        labelSelector: { matchLabels: selectorLabels(ROLE, GATEWAY_NAME) },
                    }],
                    containers: [{
                        name: "istio-proxy",
                        image: "auto",
                        securityContext: {
                            allowPrivilegeEscalation: false,
                            privileged: false,
                            readOnlyRootFilesystem: true,
                            runAsNonRoot: true,
                            runAsUser: 1337,
                            runAsGroup: 1337,
                            capabilities: { drop: ["ALL"] },
                        },
                        resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "2", memory: "1Gi" } },
                    }],
                },
            },
        },
    };
}

export function gatewayPodDisruptionBudget(): IPodDisruptionBudget {
    return {
        apiVersion: "policy/v1",
        kind: "PodDisruptionBudget",
        metadata: { name: GATEWAY_NAME, namespace: NS.gateway },
        spec: { minAvailable: 1, selector: { matchLabels: selectorLabels(ROLE, GATEWAY_NAME) } },
    };
}

export function gatewayAutoscaler(replicas: { min: number; max: number }): IHorizontalPodAutoscaler {
    return {
        apiVersion: "autoscaling/v2",
        kind: "HorizontalPodAutoscaler",
        metadata: { name: GATEWAY_NAME, namespace: NS.gateway },
        spec: {
            scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: GATEWAY_NAME },
            minReplicas: replicas.min,
            maxReplicas: replicas.max,
            metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 80 } } }],
        },
    };
}

export const LB_ANNOTATIONS = {
    type: "service.beta.kubernetes.io/aws-load-balancer-type",
    targetType: "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type",
    scheme: "service.beta.kubernetes.io/aws-load-balancer-scheme",
    targetGroupAttributes: "service.beta.kubernetes.io/aws-load-balancer-target-group-attributes",
    healthcheckPort: "service.beta.kubernetes.io/aws-load-balancer-healthcheck-port",
    healthcheckPath: "service.beta.kubernetes.io/aws-load-balancer-healthcheck-path",
    healthcheckProtocol: "service.beta.kubernetes.io/aws-load-balancer-healthcheck-protocol",
    ipAddressType: "service.beta.kubernetes.io/aws-load-balancer-ip-address-type",
    additionalTags: "service.beta.kubernetes.io/aws-load-balancer-additional-resource-tags",
} as const;

/**
 * The Service the AWS Load Balancer Controller turns into an NLB.
 *
 * Client IPs: with IP targets the NLB sends straight to the pod IPs, kube-proxy is not on the path, so
 * `externalTrafficPolicy` has nothing to preserve. Instead the target group attribute
 * `preserve_client_ip.enabled=true` keeps the client's address as the packet source (it is off by default for IP
 * targets). That is what gives the allow list meaning twice: the NLB's security group (the controller writes
 * `loadBalancerSourceRanges` into it) filters on it, and Istio's `remoteIpBlocks` sees the real client.
 * `allocateLoadBalancerNodePorts: false`: IP targets need no NodePorts, so none are opened on the nodes.
 */
export function gatewayService(a: { mode: IngressMode; sourceRanges: string[]; lbTags?: Record<string, string> }): IService {
    if (a.mode === "privatelink") return privateLinkGatewayService();
    const tags = Object.entries(a.lbTags ?? {}).map(([k, v]) => `${k}=${v}`).join(",");
    return {
        apiVersion: "v1",
        kind: "Service",
        metadata: {
            name: GATEWAY_NAME,
            namespace: NS.gateway,
            annotations: {
                [LB_ANNOTATIONS.type]: "external",
                [LB_ANNOTATIONS.targetType]: "ip",
                [LB_ANNOTATIONS.scheme]: schemeFor(a.mode),
                [LB_ANNOTATIONS.targetGroupAttributes]: "preserve_client_ip.enabled=true",
                [LB_ANNOTATIONS.ipAddressType]: "ipv4",
                // Envoy's readiness endpoint: the NLB stops sending to a draining gateway before Envoy stops.
                [LB_ANNOTATIONS.healthcheckPort]: "15021",
                [LB_ANNOTATIONS.healthcheckPath]: "/healthz/ready",
                [LB_ANNOTATIONS.healthcheckProtocol]: "http",
                ...(tags ? { [LB_ANNOTATIONS.additionalTags]: tags } : {}),
            },
        },
        spec: {
            type: "LoadBalancer",
            // Only the AWS Load Balancer Controller acts on this Service; the in-tree controller (classic ELB) never does.
            loadBalancerClass: "service.k8s.aws/nlb",
            loadBalancerSourceRanges: a.sourceRanges,
            allocateLoadBalancerNodePorts: false,
            selector: selectorLabels(ROLE, GATEWAY_NAME),
            ports: [
                { name: "http", port: PORTS.http, targetPort: PORTS.http, protocol: "TCP" },
                { name: "https", port: PORTS.https, targetPort: PORTS.https, protocol: "TCP" },
                { name: "https-clickhouse", port: PORTS.clickhouseHttps, targetPort: PORTS.clickhouseHttps, protocol: "TCP" },
                { name: "tls-clickhouse-native", port: PORTS.clickhouseNative, targetPort: PORTS.clickhouseNative, protocol: "TCP" },
            ],
        },
    };
}

/**
 * In privatelink mode the NLB is Pulumi's own (IngressGateway.createPrivateLink): the Service only names the pods'
 * ports for the controller's TargetGroupBindings, so it is a ClusterIP Service and no controller-made NLB exists.
 */
function privateLinkGatewayService(): IService {
    return {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: GATEWAY_NAME, namespace: NS.gateway },
        spec: {
            type: "ClusterIP",
            selector: selectorLabels(ROLE, GATEWAY_NAME),
            ports: [
                { name: "https", port: PORTS.https, targetPort: PORTS.https, protocol: "TCP" },
                { name: "https-clickhouse", port: PORTS.clickhouseHttps, targetPort: PORTS.clickhouseHttps, protocol: "TCP" },
                { name: "tls-clickhouse-native", port: PORTS.clickhouseNative, targetPort: PORTS.clickhouseNative, protocol: "TCP" },
            ],
        },
    };
}

// ---------------------------------------------------------------------------------------------------------------
// Istio configuration

/** kubernetes-models 2.3 ships the v1beta1 schemas; Istio serves networking v1 with the identical schema. */
type V1<T extends { apiVersion: string }, V extends string> = Omit<T, "apiVersion"> & { apiVersion: V };
export type IstioGateway = V1<IGateway, "networking.istio.io/v1">;
export type IstioVirtualService = V1<IVirtualService, "networking.istio.io/v1">;

const tlsServer = (name: string, number: number, protocol: "HTTPS" | "TLS", hosts: string[]) => ({
    name,
    port: { number, name, protocol },
    hosts,
    tls: { mode: "SIMPLE" as const, credentialName: certificateSecretName, minProtocolVersion: "TLSV1_2" as const },
});

/** HTTPS and TLS terminated with the cert-manager Secret, TLS 1.2 at least; port 80 only redirects to HTTPS. */
export function istioGateway(domain: string): IstioGateway {
    const hosts = [wildcardFor(domain)];
    return {
        apiVersion: "networking.istio.io/v1",
        kind: "Gateway",
        metadata: { name: "clickhouse", namespace: NS.gateway },
        spec: {
            selector: { ...GATEWAY_SELECTOR },
            servers: [
                { name: "http", port: { number: PORTS.http, name: "http", protocol: "HTTP" }, hosts, tls: { httpsRedirect: true } },
                tlsServer("https", PORTS.https, "HTTPS", hosts),
                tlsServer("https-clickhouse", PORTS.clickhouseHttps, "HTTPS", hosts),
                // TLS (not HTTPS): the native protocol is TCP; Istio terminates TLS and forwards the bytes.
                tlsServer("tls-clickhouse-native", PORTS.clickhouseNative, "TLS", hosts),
            ],
        },
    };
}

/** HTTPS (443, 8443) to the ClickHouse HTTP interface, secure native (9440) to its native port. No route on port 80. */
export function clickhouseVirtualService(a: { hostname: string; clickhouse: ClickHouseTarget }): IstioVirtualService {
    return {
        apiVersion: "networking.istio.io/v1",
        kind: "VirtualService",
        metadata: { name: "clickhouse", namespace: NS.gateway },
        spec: {
            hosts: [a.hostname],
            gateways: [`${NS.gateway}/clickhouse`],
            http: [{
                name: "clickhouse-https",
                match: [{ port: PORTS.https }, { port: PORTS.clickhouseHttps }],
                route: [{ destination: { host: a.clickhouse.host, port: { number: a.clickhouse.httpPort } } }],
            }],
            tcp: [{
                match: [{ port: PORTS.clickhouseNative }],
                route: [{ destination: { host: a.clickhouse.host, port: { number: a.clickhouse.nativePort } } }],
            }],
        },
    };
}

/**
 * Defence in depth: the gateway itself only admits the allow list. `remoteIpBlocks` is the client address
 * Envoy sees; with `numTrustedProxies` left at 0 (istiod values) it is the TCP peer, which the NLB preserves,
 * never an X-Forwarded-For header a client could forge.
 */
export function gatewayAuthorizationPolicy(sourceRanges: string[]): IAuthorizationPolicy {
    return {
        apiVersion: "security.istio.io/v1",
        kind: "AuthorizationPolicy",
        metadata: { name: "ingress-ip-allow-list", namespace: NS.gateway },
        spec: {
            selector: { matchLabels: { ...GATEWAY_SELECTOR } },
            action: "ALLOW",
            rules: [{ from: [{ source: { remoteIpBlocks: [...sourceRanges] } }] }],
        },
    } as IAuthorizationPolicy;
}

// ---------------------------------------------------------------------------------------------------------------
// cert-manager

/**
 * Let's Encrypt with a DNS-01 solver on Route53. A wildcard certificate can only be validated over DNS-01
 * (HTTP-01 cannot prove control of `*.<domain>`), and DNS-01 also works when the NLB is internal and Let's
 * Encrypt cannot reach it. `hostedZoneID` pins the solver to one zone, so its IAM role needs no zone listing.
 */
export function clusterIssuer<Z = string>(a: { server: AcmeServer; email: string; domain: string; region: string; hostedZoneId: Z }) {
    return {
        apiVersion: "cert-manager.io/v1" as const,
        kind: "ClusterIssuer" as const,
        metadata: { name: issuerNameFor(a.server) },
        spec: {
            acme: {
                server: ACME_SERVERS[a.server],
                email: a.email,
                // The ACME account key; cert-manager creates it in its own namespace.
                privateKeySecretRef: { name: `${issuerNameFor(a.server)}-account-key` },
                solvers: [{
                    selector: { dnsZones: [a.domain] },
                    dns01: { route53: { region: a.region, hostedZoneID: a.hostedZoneId } },
                }],
            },
        },
    };
}

/** `*.<domain>`, issued into the Secret the Gateway's credentialName names, in the gateway's namespace. */
export function gatewayCertificate(a: { domain: string; server: AcmeServer }): ICertificate {
    return {
        apiVersion: "cert-manager.io/v1",
        kind: "Certificate",
        metadata: { name: certificateSecretName, namespace: NS.gateway },
        spec: {
            secretName: certificateSecretName,
            // The Secret is created by cert-manager, not Pulumi: give it the conventions' labels here.
            secretTemplate: { labels: k8sLabels(ROLE) },
            dnsNames: [wildcardFor(a.domain)],
            issuerRef: { group: "cert-manager.io", kind: "ClusterIssuer", name: issuerNameFor(a.server) },
            privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" },
            duration: "2160h",
            renewBefore: "720h",
            usages: ["server auth", "digital signature", "key encipherment"],
        },
    };
}

// ---------------------------------------------------------------------------------------------------------------
// Helm values

export function loadBalancerControllerValues<S>(a: { clusterName: S; vpcId: S; region: string; replicas: number; defaultTags: Record<string, string> }) {
    return {
        clusterName: a.clusterName,
        vpcId: a.vpcId,
        region: a.region,
        replicaCount: a.replicas,
        // Credentials come from the Pod Identity association on this service account: no role annotation.
        serviceAccount: { create: true, name: LBC_SERVICE_ACCOUNT },
        // Only NLBs for Services are managed here: no ALB IngressClass, and the ALB-only integrations are off
        // (the IAM policy does not grant them).
        createIngressClassResource: false,
        enableShield: false,
        enableWaf: false,
        enableWafv2: false,
        // Tags on every load balancer, target group and security group the controller creates (DESIGN §4).
        defaultTags: a.defaultTags,
        // The Service mutator (failurePolicy Fail, every Service CREATE) is registered before the controller's
        // pods can answer it, so any Service created meanwhile is refused (kubernetes-sigs/aws-load-balancer-controller#4140).
        // It only exists to make this controller the default for LoadBalancer Services; the gateway Service names
        // it explicitly (`loadBalancerClass: service.k8s.aws/nlb`), so the mutator buys nothing here.
        enableServiceMutatorWebhook: false,
    };
}

export function istioBaseValues() {
    return { defaultRevision: "default" };
}

/**
 * The istiod 1.26 chart reads its settings at the top level (defaults under `_internal_defaults_do_not_set`; a
 * `pilot:` block is ignored). It autoscales by default and then renders no `replicas` at all, so the floor is
 * `autoscaleMin` (templates/deployment.yaml, autoscale.yaml). Never below two: the chart's PodDisruptionBudget
 * hard-codes minAvailable 1, which with one replica blocks every node drain (istio/istio#12602) and fails
 * managed node group upgrades with PodEvictionFailure.
 */
export const ISTIOD_MIN_REPLICAS = 2;
export const ISTIO_HUB = "gcr.io/istio-release";

export function istiodValues(a: { replicas: number }) {
    return {
        autoscaleMin: Math.max(ISTIOD_MIN_REPLICAS, a.replicas),
        // Istio's release mirror instead of docker.io/istio (Docker Hub's anonymous pull limit per NAT address);
        // istio/release-builder publish.sh pushes every release there. The injected gateway proxy uses it too.
        global: { hub: ISTIO_HUB },
        meshConfig: {
            accessLogFile: "/dev/stdout",
            // X-Forwarded-For is not trusted: remoteIpBlocks is the TCP peer (the client, preserved by the NLB).
            defaultConfig: { gatewayTopology: { numTrustedProxies: 0 } },
        },
    };
}

export function certManagerValues(a: { replicas: number }) {
    return {
        // CRDs from the chart (crds.enabled supersedes installCRDs); kept on uninstall so certificates survive.
        crds: { enabled: true, keep: true },
        replicaCount: a.replicas,
        serviceAccount: { create: true, name: CERT_MANAGER_SERVICE_ACCOUNT },
        podDisruptionBudget: { enabled: a.replicas > 1 },
    };
}

// ---------------------------------------------------------------------------------------------------------------
// IAM

export type { PolicyDocument, PolicyStatement } from "./iam";

/** The tag the controller's IAM conditions look for; Pulumi-made target groups carry it so it may register targets. */
export const CLUSTER_TAG = "elbv2.k8s.aws/cluster";

/**
 * The AWS Load Balancer Controller's policy: the upstream `docs/install/iam_policy.json` (v2.13) reduced to what an
 * NLB-only controller uses, with its writes narrowed further:
 *  - ALB-only actions are gone (Cognito, ACM, IAM server certificates, WAF, Shield, listener rules/certificates);
 *  - ARNs name this account, region and partition instead of `*:*`;
 *  - where upstream only checks that the `elbv2.k8s.aws/cluster` tag exists, this checks it equals *this*
 *    cluster, so the controller cannot touch another cluster's load balancers;
 *  - security-group rule changes are limited to security groups in this VPC.
 * Read-only Describe calls stay on `*`: those actions have no resource-level permissions.
 */
export function loadBalancerControllerPolicy(a: { partition: string; region: string; account: string; clusterName: string; vpcId: string }): PolicyDocument {
    const p = `arn:${a.partition}`;
    const elb = `${p}:elasticloadbalancing:${a.region}:${a.account}`;
    const ec2 = `${p}:ec2:${a.region}:${a.account}`;
    const ownTag = { [`aws:ResourceTag/${CLUSTER_TAG}`]: a.clusterName };
    const nlbs = [`${elb}:loadbalancer/net/*/*`];
    const targetGroups = [`${elb}:targetgroup/*/*`];
    const listeners = `${elb}:listener/net/*/*/*`;
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "ElbServiceLinkedRole",
                Effect: "Allow",
                Action: ["iam:CreateServiceLinkedRole"],
                Resource: `${p}:iam::${a.account}:role/aws-service-role/elasticloadbalancing.amazonaws.com/AWSServiceRoleForElasticLoadBalancing`,
                Condition: { StringEquals: { "iam:AWSServiceName": "elasticloadbalancing.amazonaws.com" } },
            },
            {
                Sid: "Describe",
                Effect: "Allow",
                Action: [
                    "ec2:DescribeAccountAttributes", "ec2:DescribeAddresses", "ec2:DescribeAvailabilityZones", "ec2:DescribeInternetGateways",
                    "ec2:DescribeVpcs", "ec2:DescribeVpcPeeringConnections", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups",
                    "ec2:DescribeInstances", "ec2:DescribeNetworkInterfaces", "ec2:DescribeTags", "ec2:DescribeRouteTables",
                    "ec2:DescribeIpamPools", "ec2:GetSecurityGroupsForVpc",
                    "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeLoadBalancerAttributes",
                    "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeListenerAttributes",
                    "elasticloadbalancing:DescribeListenerCertificates", "elasticloadbalancing:DescribeSSLPolicies",
                    "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetGroupAttributes",
                    "elasticloadbalancing:DescribeTargetHealth", "elasticloadbalancing:DescribeTags",
                    "elasticloadbalancing:DescribeCapacityReservation",
                ],
                Resource: "*",
            },
            {
                Sid: "SecurityGroupRulesInVpc",
                Effect: "Allow",
                Action: ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"],
                Resource: `${ec2}:security-group/*`,
                Condition: { ArnEquals: { "ec2:Vpc": `${ec2}:vpc/${a.vpcId}` } },
            },
            {
                Sid: "CreateSecurityGroupInVpc",
                Effect: "Allow",
                Action: ["ec2:CreateSecurityGroup"],
                Resource: [`${ec2}:vpc/${a.vpcId}`, `${ec2}:security-group/*`],
            },
            {
                Sid: "TagSecurityGroupOnCreate",
                Effect: "Allow",
                Action: ["ec2:CreateTags"],
                Resource: `${ec2}:security-group/*`,
                Condition: { StringEquals: { "ec2:CreateAction": "CreateSecurityGroup", [`aws:RequestTag/${CLUSTER_TAG}`]: a.clusterName } },
            },
            {
                Sid: "RetagOwnSecurityGroups",
                Effect: "Allow",
                Action: ["ec2:CreateTags", "ec2:DeleteTags"],
                Resource: `${ec2}:security-group/*`,
                Condition: { Null: { [`aws:RequestTag/${CLUSTER_TAG}`]: "true" }, StringEquals: ownTag },
            },
            {
                Sid: "DeleteOwnSecurityGroups",
                Effect: "Allow",
                Action: ["ec2:DeleteSecurityGroup"],
                Resource: `${ec2}:security-group/*`,
                Condition: { StringEquals: ownTag },
            },
            {
                Sid: "CreateTaggedLoadBalancers",
                Effect: "Allow",
                Action: ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"],
                Resource: [...nlbs, ...targetGroups],
                Condition: { StringEquals: { [`aws:RequestTag/${CLUSTER_TAG}`]: a.clusterName } },
            },
            {
                Sid: "TagOnCreate",
                Effect: "Allow",
                Action: ["elasticloadbalancing:AddTags"],
                Resource: [...nlbs, ...targetGroups],
                Condition: {
                    StringEquals: {
                        "elasticloadbalancing:CreateAction": ["CreateTargetGroup", "CreateLoadBalancer"],
                        [`aws:RequestTag/${CLUSTER_TAG}`]: a.clusterName,
                    },
                },
            },
            {
                Sid: "RetagOwnLoadBalancers",
                Effect: "Allow",
                Action: ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
                Resource: [...nlbs, ...targetGroups],
                Condition: { Null: { [`aws:RequestTag/${CLUSTER_TAG}`]: "true" }, StringEquals: ownTag },
            },
            {
                Sid: "ManageOwnLoadBalancers",
                Effect: "Allow",
                Action: [
                    "elasticloadbalancing:ModifyLoadBalancerAttributes", "elasticloadbalancing:SetIpAddressType",
                    "elasticloadbalancing:SetSecurityGroups", "elasticloadbalancing:SetSubnets", "elasticloadbalancing:DeleteLoadBalancer",
                    "elasticloadbalancing:ModifyTargetGroup", "elasticloadbalancing:ModifyTargetGroupAttributes",
                    "elasticloadbalancing:DeleteTargetGroup", "elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets",
                ],
                Resource: [...nlbs, ...targetGroups],
                Condition: { StringEquals: ownTag },
            },
            {
                // As upstream, listeners are not tag-conditioned; they are limited to NLB listeners of this account.
                Sid: "ManageNlbListeners",
                Effect: "Allow",
                Action: [
                    "elasticloadbalancing:CreateListener", "elasticloadbalancing:DeleteListener", "elasticloadbalancing:ModifyListener",
                    "elasticloadbalancing:ModifyListenerAttributes",
                ],
                Resource: [...nlbs, listeners],
            },
            {
                Sid: "TagNlbListeners",
                Effect: "Allow",
                Action: ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
                Resource: listeners,
            },
        ],
    };
}

/**
 * cert-manager's DNS-01 solver: TXT records under `_acme-challenge.<domain>` in one hosted zone, and the change
 * status. Nothing else in Route53 (no zone listing: the issuer names its zone).
 */
export function route53SolverPolicy(a: { partition: string; hostedZoneId: string; domain: string }): PolicyDocument {
    const zone = `arn:${a.partition}:route53:::hostedzone/${a.hostedZoneId}`;
    return {
        Version: "2012-10-17",
        Statement: [
            { Sid: "ChangeStatus", Effect: "Allow", Action: ["route53:GetChange"], Resource: `arn:${a.partition}:route53:::change/*` },
            { Sid: "ReadZone", Effect: "Allow", Action: ["route53:ListResourceRecordSets"], Resource: zone },
            {
                Sid: "AcmeChallengeRecords",
                Effect: "Allow",
                Action: ["route53:ChangeResourceRecordSets"],
                Resource: zone,
                Condition: {
                    "ForAllValues:StringEquals": {
                        "route53:ChangeResourceRecordSetsRecordTypes": ["TXT"],
                        "route53:ChangeResourceRecordSetsNormalizedRecordNames": [`_acme-challenge.${a.domain.toLowerCase()}`],
                    },
                },
            },
        ],
    };
}

// ---------------------------------------------------------------------------------------------------------------
// The flow row (DESIGN §2)

export function ingressFlowRestriction(a: { mode: IngressMode; sourceRanges: string[]; peeredCidrs: string[]; domain: string; privateLink?: { allowedPrincipals: string[]; acceptanceRequired: boolean } }): string {
    const parts = [
        `IP allow list on the NLB (loadBalancerSourceRanges = ${a.sourceRanges.join(", ")})`,
        `TLS at Istio (TLS ≥ 1.2, ${wildcardFor(a.domain)})`,
    ];
    if (a.mode === "private") parts.push(`internal NLB + VPC peering (${a.peeredCidrs.join(", ")})`);
    if (a.mode === "privatelink" && a.privateLink) {
        parts[0] = `IP allow list at Istio on the client address proxy protocol v2 carries (${a.sourceRanges.join(", ")})`;
        parts.push(`PrivateLink endpoint service admitting ${a.privateLink.allowedPrincipals.join(", ")}${a.privateLink.acceptanceRequired ? ", each endpoint accepted explicitly" : ""}; internal NLB, no internet-facing load balancer`);
    }
    return parts.join("; ");
}
