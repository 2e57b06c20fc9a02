// An offline evaluator of networking.k8s.io/v1 NetworkPolicies for the tests: given policies, pods and Services,
// is a connection from a pod (or a non-pod address) to a pod, a Service or a raw IP:port allowed?
//
// No npm package does this (the registry's search is not served here and the package lists name none; the
// known evaluators, np-guard/netpol-analyzer and cheriot/netpoltool, are Go CLIs that implement upstream
// semantics only), so it is written here, in two modes:
//
//  - "vpc-cni" (default): what the EKS VPC CNI enforces. It is a port of the two halves of that implementation,
//    cited below so a reader can check each step:
//      * the controller resolves every policy into allowed address lists ("PolicyEndpoints"):
//        aws/amazon-network-policy-controller-k8s@v1.1.7:pkg/resolvers/endpoints.go (computeIngressEndpoints,
//        computeEgressEndpoints, getMatchingServiceClusterIPs, hasTargetPortBypass) and pkg/k8s/{pod,service}_utils.go;
//      * the node agent turns a pod's lists into one longest-prefix-match trie per direction and its eBPF
//        programs judge each new flow on the pod's veth: aws/aws-network-policy-agent@v1.4.1:
//        pkg/fwruleprocessor/fw_rule_processor.go (ComputeMapEntriesFromEndpointRules),
//        controllers/policyendpoints_controller.go (isolation, catch-all), pkg/ebpf/c/tc.v4egress.bpf.c
//        (evaluateNamespacePolicyByLookUp).
//    The consequences the tests care about: egress is judged on the pod's interface BEFORE kube-proxy DNATs a
//    ClusterIP, so a ClusterIP is reachable only if an ipBlock covers it or the controller added it, which it
//    does only for Services of a namespace a pod peer selects whose `spec.selector` (as a label set) the peer's
//    podSelector matches — a Service without a selector (`kubernetes.default`) only for an empty podSelector —
//    and only on the Service ports whose targetPort maps to an allowed port. Overlapping CIDRs are decided by
//    the longest prefix (an `except` becomes a deny-all entry unless some rule names that exact CIDR). Traffic
//    to and from the pod's own node IP is always allowed.
//  - "kubernetes": upstream semantics (the union of all rules, judged after DNAT on the endpoint pod).
//
// Not modelled: IPv6, SCTP specifics, AdminNetworkPolicy/ClusterNetworkPolicy, the agent's strict mode,
// hostNetwork pods as policy targets (neither mode enforces on them), conntrack beyond "replies are allowed".
import { contains, Cidr, parseCidr } from "../../stacks/cidr";

export type Protocol = "TCP" | "UDP" | "SCTP";
export type Labels = Record<string, string>;
export type Mode = "vpc-cni" | "kubernetes";

export interface LabelSelector {
    matchLabels?: Labels;
    matchExpressions?: { key: string; operator: "In" | "NotIn" | "Exists" | "DoesNotExist"; values?: string[] }[];
}
export interface PolicyPort {
    protocol?: Protocol;
    /** Number, or a container port name. */
    port?: number | string;
    endPort?: number;
}
export interface PolicyPeer {
    podSelector?: LabelSelector;
    namespaceSelector?: LabelSelector;
    ipBlock?: { cidr: string; except?: string[] };
}
export interface PolicyRule {
    ports?: PolicyPort[];
    to?: PolicyPeer[];
    from?: PolicyPeer[];
}
export interface NetworkPolicy {
    name: string;
    namespace: string;
    spec: {
        podSelector?: LabelSelector;
        policyTypes?: ("Ingress" | "Egress")[];
        ingress?: PolicyRule[];
        egress?: PolicyRule[];
    };
}
export interface ContainerPort {
    name?: string;
    containerPort: number;
    protocol?: Protocol;
}
export interface Pod {
    name: string;
    namespace: string;
    labels: Labels;
    ip: string;
    /** Labels of the pod's namespace (kubernetes.io/metadata.name is added). */
    namespaceLabels?: Labels;
    ports?: ContainerPort[];
    /** hostNetwork pods share the node's IP; no NetworkPolicy is enforced on them. */
    hostNetwork?: boolean;
    /** The node's IP: the VPC CNI always allows traffic between a pod and its own node. */
    nodeIp?: string;
}
export interface ServicePort {
    name?: string;
    port: number;
    /** Number or container port name; defaults to `port`, as the API server does. */
    targetPort?: number | string;
    protocol?: Protocol;
}
export interface Service {
    name: string;
    namespace: string;
    /** No selector: endpoints are managed by hand (e.g. `kubernetes.default`, the API server's ENIs). */
    selector?: Labels;
    /** "None" for a headless Service. */
    clusterIP: string;
    ports: ServicePort[];
    /** Endpoint IPs of a Service without a selector (numeric targetPorts only). */
    endpoints?: string[];
}
export interface Namespace {
    name: string;
    labels?: Labels;
}

/** A pod by "namespace/name", or a non-pod source address (e.g. the API server's ENI calling a webhook). */
export type Source = string | { ip: string };
export type Destination =
    | { pod: string; port: number | string; protocol?: Protocol }
    /** Port = the Service's port (number or name), as a client dials it. */
    | { service: string; port: number | string; protocol?: Protocol }
    | { ip: string; port: number; protocol?: Protocol };

export interface Verdict {
    allowed: boolean;
    /** One line per step (egress at the source, ingress at each endpoint), for assertion messages. */
    why: string[];
}

/** A resolved allow entry: the controller's EndpointInfo (CIDR, except, ports; no ports = any). */
export interface AllowEntry {
    cidr: string;
    except?: string[];
    ports: L4[];
}
/** "ANY" and "DENY" are the agent's catch-all and deny-all markers. */
export interface L4 {
    protocol: Protocol | "ANY" | "DENY";
    port?: number;
    endPort?: number;
}

const TCP: Protocol = "TCP";
/** The agent keeps at most 24 port/protocol entries per CIDR (utils.TRIE_VALUE_LENGTH 288 / 12 bytes). */
const MAX_L4_PER_CIDR = 24;

function labelsMatch(selector: LabelSelector | undefined, labels: Labels): boolean {
    if (!selector) return true;
    for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
    for (const e of selector.matchExpressions ?? []) {
        const has = Object.prototype.hasOwnProperty.call(labels, e.key);
        const inValues = has && (e.values ?? []).includes(labels[e.key]);
        if (e.operator === "In" && !inValues) return false;
        if (e.operator === "NotIn" && inValues) return false;
        if (e.operator === "Exists" && !has) return false;
        if (e.operator === "DoesNotExist" && has) return false;
    }
    return true;
}

function cidrOf(text: string): Cidr {
    const c = parseCidr(text.includes("/") ? text : `${text}/32`);
    if (!c || c.kind !== "ipv4") throw new Error(`networkPolicy evaluator: "${text}" is not an IPv4 address or CIDR`);
    return c;
}
const inCidr = (ip: string, cidr: string) => contains(cidrOf(cidr), cidrOf(ip));

/** endPort is inclusive; the eBPF test is `port == start || (end > 0 && start < port <= end)`. */
function l4Allows(entries: L4[], protocol: Protocol, port: number): "allow" | "deny" {
    for (const e of entries.slice(0, MAX_L4_PER_CIDR)) {
        if (e.protocol === "DENY") return "deny";
        if (e.protocol !== "ANY" && e.protocol !== protocol) continue;
        const start = e.port ?? 0;
        if (start === 0 || port === start || (e.endPort !== undefined && e.endPort > 0 && port > start && port <= e.endPort)) return "allow";
    }
    return "deny";
}
const portText = (ports: L4[]) =>
    ports.length === 0 ? "any port" : ports.map((p) => (p.protocol === "ANY" ? "any" : p.protocol === "DENY" ? "deny-all" : `${p.protocol} ${p.port ?? "*"}${p.endPort ? `-${p.endPort}` : ""}`)).join(", ");

/**
 * The agent's per-pod, per-direction trie (fw_rule_processor.go ComputeMapEntriesFromEndpointRules), and the
 * eBPF lookup: longest prefix wins; a more specific entry inherits the ports of every broader CIDR that contains
 * it unless that CIDR excepts it; each except CIDR no rule names exactly becomes deny-all; the node IP is allow-all.
 */
export function buildTrie(rules: AllowEntry[], nodeIp?: string): Map<string, L4[]> {
    const trie = new Map<string, L4[]>();
    if (nodeIp) trie.set(cidrOf(nodeIp).text, [{ protocol: "ANY" }]);
    const byCidr = new Map<string, AllowEntry>();
    const nonHost = new Map<string, AllowEntry>();
    const excepts = new Set<string>();
    const sorted = rules.map((r) => ({ ...r, cidr: cidrOf(r.cidr).text })).sort((a, b) => cidrOf(a.cidr).prefix - cidrOf(b.cidr).prefix);
    for (const rule0 of sorted) {
        const rule: AllowEntry = { cidr: rule0.cidr, except: [...(rule0.except ?? [])], ports: [...rule0.ports] };
        for (const e of rule.except!) excepts.add(cidrOf(e).text);
        // shouldSkipRule: the node IP already has its allow-all entry.
        if (nodeIp && cidrOf(rule.cidr).start === cidrOf(nodeIp).start) continue;
        if (rule.ports.length === 0) rule.ports = [{ protocol: "ANY" }];
        const existing = byCidr.get(rule.cidr);
        if (existing) {
            rule.ports.push(...existing.ports);
            rule.except!.push(...(existing.except ?? []));
        } else {
            const ip = cidrOf(rule.cidr);
            for (const broader of nonHost.values()) {
                const b = cidrOf(broader.cidr);
                const network = { ...ip, prefix: 32, size: 1n };
                if (contains(b, network) && !(broader.except ?? []).some((e) => contains(cidrOf(e), network))) rule.ports.push(...broader.ports);
            }
        }
        byCidr.set(rule.cidr, rule);
        if (cidrOf(rule.cidr).prefix !== 32) nonHost.set(rule.cidr, rule);
    }
    for (const e of excepts) if (!byCidr.has(e)) byCidr.set(e, { cidr: e, ports: [{ protocol: "DENY" }] });
    for (const [cidr, rule] of byCidr) {
        const seen = new Set<string>();
        trie.set(cidr, rule.ports.filter((p) => {
            const key = `${p.protocol}@${p.port ?? ""}@${p.endPort ?? ""}`;
            return seen.has(key) ? false : (seen.add(key), true);
        }));
    }
    return trie;
}

export function lookupTrie(trie: Map<string, L4[]>, ip: string, protocol: Protocol, port: number): { allowed: boolean; match?: string; ports?: L4[] } {
    let best: string | undefined;
    for (const cidr of trie.keys()) if (inCidr(ip, cidr) && (!best || cidrOf(cidr).prefix > cidrOf(best).prefix)) best = cidr;
    if (!best) return { allowed: false };
    const ports = trie.get(best)!;
    return { allowed: l4Allows(ports, protocol, port) === "allow", match: best, ports };
}

interface Endpoint {
    ip: string;
    port: number;
    pod?: NormalPod;
}
interface NormalPod extends Pod {
    namespaceLabels: Labels;
    ports: (ContainerPort & { protocol: Protocol })[];
}
interface NormalService extends Service {
    ports: (ServicePort & { protocol: Protocol; targetPort: number | string })[];
}

export class Cluster {
    readonly mode: Mode;
    private readonly namespaces = new Map<string, Labels>();
    private readonly pods: NormalPod[];
    private readonly services: NormalService[];
    private readonly policies: NetworkPolicy[];

    constructor(o: { policies: NetworkPolicy[]; pods: Pod[]; services?: Service[]; namespaces?: Namespace[]; mode?: Mode }) {
        this.mode = o.mode ?? "vpc-cni";
        const addNs = (name: string, labels: Labels = {}) =>
            this.namespaces.set(name, { ...(this.namespaces.get(name) ?? {}), ...labels, "kubernetes.io/metadata.name": name });
        for (const n of o.namespaces ?? []) addNs(n.name, n.labels);
        for (const p of o.pods) addNs(p.namespace, p.namespaceLabels);
        for (const s of o.services ?? []) addNs(s.namespace);
        for (const p of o.policies) addNs(p.namespace);
        this.pods = o.pods.map((p) => ({
            ...p,
            namespaceLabels: this.namespaces.get(p.namespace)!,
            ports: (p.ports ?? []).map((c) => ({ ...c, protocol: c.protocol ?? TCP })),
        }));
        const names = new Set<string>();
        for (const p of this.pods) {
            const id = `${p.namespace}/${p.name}`;
            if (names.has(id)) throw new Error(`networkPolicy evaluator: two pods named ${id}`);
            names.add(id);
        }
        this.services = (o.services ?? []).map((s) => ({
            ...s,
            ports: s.ports.map((sp) => ({ ...sp, protocol: sp.protocol ?? TCP, targetPort: sp.targetPort ?? sp.port })),
        }));
        // API defaulting: policyTypes = Ingress, plus Egress when egress rules exist; protocol = TCP.
        this.policies = o.policies.map((p) => {
            const rules = (rs?: PolicyRule[]) => rs?.map((r) => ({ ...r, ports: r.ports?.map((pp) => ({ ...pp, protocol: pp.protocol ?? TCP })) }));
            const policyTypes = p.spec.policyTypes?.length ? p.spec.policyTypes : (["Ingress", ...(p.spec.egress?.length ? ["Egress"] : [])] as ("Ingress" | "Egress")[]);
            return { ...p, spec: { ...p.spec, policyTypes, ingress: rules(p.spec.ingress), egress: rules(p.spec.egress) } };
        });
    }

    pod(ref: string): NormalPod {
        const [ns, name] = ref.split("/");
        const p = this.pods.find((x) => x.namespace === ns && x.name === name);
        if (!p) throw new Error(`networkPolicy evaluator: no pod ${ref} (pods: ${this.pods.map((x) => `${x.namespace}/${x.name}`).join(", ")})`);
        return p;
    }

    service(ref: string): NormalService {
        const [ns, name] = ref.split("/");
        const s = this.services.find((x) => x.namespace === ns && x.name === name);
        if (!s) throw new Error(`networkPolicy evaluator: no Service ${ref}`);
        return s;
    }

    /** Policies of `type` that select the pod (none for hostNetwork pods: nothing is enforced on them). */
    policiesFor(pod: NormalPod, type: "Ingress" | "Egress"): NetworkPolicy[] {
        if (pod.hostNetwork) return [];
        return this.policies.filter((p) => p.namespace === pod.namespace && p.spec.policyTypes!.includes(type) && labelsMatch(p.spec.podSelector, pod.labels));
    }

    // ---- The controller's resolution (endpoints.go) ----

    private peerNamespaces(policy: NetworkPolicy, peer: PolicyPeer): string[] {
        if (!peer.namespaceSelector) return [policy.namespace];
        return [...this.namespaces].filter(([, labels]) => labelsMatch(peer.namespaceSelector, labels)).map(([n]) => n);
    }

    private podsIn(ns: string, selector: LabelSelector | undefined): NormalPod[] {
        return this.pods.filter((p) => p.namespace === ns && labelsMatch(selector, p.labels));
    }

    /** k8s.LookupContainerPortAndName: a number is itself (declared or not); a name must be declared with the protocol. */
    private static containerPort(pod: NormalPod, port: number | string, protocol: Protocol): { port: number; name: string } | undefined {
        for (const c of pod.ports) {
            if (c.protocol !== protocol) continue;
            if (typeof port === "string" ? c.name === port : c.containerPort === port) return { port: c.containerPort, name: c.name ?? "" };
        }
        return typeof port === "number" ? { port, name: "" } : undefined;
    }

    /** getPortList: a rule's ports resolved against one pod; unresolvable named ports are dropped. */
    private static portsForPod(pod: NormalPod, ports: PolicyPort[]): L4[] {
        const out: L4[] = [];
        for (const p of ports) {
            if (p.port === undefined) {
                out.push({ protocol: p.protocol!, endPort: p.endPort });
                continue;
            }
            const found = Cluster.containerPort(pod, p.port, p.protocol!);
            if (found) out.push({ protocol: p.protocol!, port: found.port, endPort: p.endPort });
        }
        return out;
    }

    /** convertToPolicyInfoPortForCIDRs: named ports cannot apply to an address block and are dropped. */
    private static portsForCidr(ports: PolicyPort[]): L4[] {
        return ports.filter((p) => typeof p.port !== "string").map((p) => ({ protocol: p.protocol!, port: p.port as number | undefined, endPort: p.port === undefined ? undefined : p.endPort }));
    }

    private ingressEntries(policy: NetworkPolicy): AllowEntry[] {
        const out: AllowEntry[] = [];
        for (const rule of policy.spec.ingress ?? []) {
            const ports = rule.ports ?? [];
            let resolved: L4[];
            if (ports.length === 0) resolved = [];
            else if (!ports.some((p) => typeof p.port === "string")) resolved = Cluster.portsForCidr(ports);
            else {
                // Named ports are resolved against the policy's own (destination) pods, then deduplicated.
                const seen = new Map<string, L4>();
                for (const pod of this.podsIn(policy.namespace, policy.spec.podSelector)) {
                    for (const l of Cluster.portsForPod(pod, ports)) seen.set(`${l.protocol}@${l.port}@${l.endPort}`, l);
                }
                resolved = [...seen.values()];
            }
            if (ports.length !== 0 && resolved.length === 0) continue;
            if (!rule.from?.length) {
                out.push({ cidr: "0.0.0.0/0", ports: resolved });
                continue;
            }
            for (const peer of rule.from) {
                if (peer.ipBlock) {
                    out.push({ cidr: peer.ipBlock.cidr, except: peer.ipBlock.except, ports: resolved });
                    continue;
                }
                for (const ns of this.peerNamespaces(policy, peer)) for (const pod of this.podsIn(ns, peer.podSelector)) out.push({ cidr: pod.ip, ports: resolved });
            }
        }
        return out;
    }

    private egressEntries(policy: NetworkPolicy): AllowEntry[] {
        const out: AllowEntry[] = [];
        for (const rule of policy.spec.egress ?? []) {
            const ports = rule.ports ?? [];
            const cidrPorts = Cluster.portsForCidr(ports);
            if (!rule.to?.length) {
                if (ports.length === 0 || cidrPorts.length > 0) out.push({ cidr: "0.0.0.0/0", ports: cidrPorts });
                continue;
            }
            for (const peer of rule.to) {
                if (peer.ipBlock) {
                    if (ports.length === 0 || cidrPorts.length > 0) out.push({ cidr: peer.ipBlock.cidr, except: peer.ipBlock.except, ports: cidrPorts });
                    continue;
                }
                for (const ns of this.peerNamespaces(policy, peer)) {
                    for (const pod of this.podsIn(ns, peer.podSelector)) {
                        const portList = Cluster.portsForPod(pod, ports);
                        if (ports.length !== 0 && portList.length === 0) continue;
                        out.push({ cidr: pod.ip, ports: portList });
                    }
                    // Only in vpc-cni mode: the ClusterIPs the controller adds because its probes see pre-DNAT packets.
                    if (this.mode === "vpc-cni") out.push(...this.matchingServiceClusterIps(peer.podSelector, ns, ports));
                }
            }
        }
        return out;
    }

    /**
     * getMatchingServiceClusterIPs: Services of `ns` (not headless) whose spec.selector, read as a label set, the
     * peer's podSelector matches (an absent podSelector matches every Service, a selector-less one included), on
     * the Service ports whose targetPort maps to an allowed port (LookupServiceListenPort, then the backing pods).
     */
    private matchingServiceClusterIps(podSelector: LabelSelector | undefined, ns: string, ports: PolicyPort[]): AllowEntry[] {
        const out: AllowEntry[] = [];
        for (const svc of this.services.filter((s) => s.namespace === ns)) {
            if (!svc.clusterIP || svc.clusterIP === "None") continue;
            if (!labelsMatch(podSelector ?? {}, svc.selector ?? {})) continue;
            const portList: L4[] = [];
            for (const np of ports) {
                if (np.port === undefined) {
                    portList.push({ protocol: np.protocol!, endPort: np.endPort });
                    continue;
                }
                const listen = this.serviceListenPort(svc, np.port, np.protocol!);
                if (listen === undefined) continue;
                if (typeof np.port === "number" && this.targetPortBypass(svc, listen, np.protocol!, ports)) continue;
                portList.push({ protocol: np.protocol!, port: listen, endPort: np.endPort });
            }
            if (ports.length !== portList.length && portList.length === 0) continue;
            out.push({ cidr: svc.clusterIP, ports: portList });
        }
        return out;
    }

    /** Pods a Service's selector picks; `labels.Set(nil).AsSelector()` is Everything, so no selector = every pod. */
    private backingPods(svc: NormalService): NormalPod[] {
        return this.pods.filter((p) => p.namespace === svc.namespace && labelsMatch({ matchLabels: svc.selector ?? {} }, p.labels));
    }

    private serviceListenPort(svc: NormalService, port: number | string, protocol: Protocol): number | undefined {
        const direct = svc.ports.find((sp) => typeof sp.targetPort === typeof port && String(sp.targetPort) === String(port) && sp.protocol === protocol);
        if (direct) return direct.port;
        for (const pod of this.backingPods(svc)) {
            const cp = Cluster.containerPort(pod, port, protocol);
            if (!cp) continue;
            const sp = svc.ports.find((x) => x.protocol === protocol && (typeof x.targetPort === "string" ? x.targetPort === cp.name : x.targetPort === cp.port));
            if (sp) return sp.port;
        }
        return undefined;
    }

    private targetPortBypass(svc: NormalService, listen: number, protocol: Protocol, policyPorts: PolicyPort[]): boolean {
        const sp = svc.ports.find((x) => x.port === listen && x.protocol === protocol && typeof x.targetPort === "string");
        if (!sp) return false;
        for (const pod of this.backingPods(svc)) {
            const cp = pod.ports.find((c) => c.name === sp.targetPort && c.protocol === protocol);
            if (!cp) continue;
            const allowed = policyPorts.some((pp) => {
                if (pp.protocol !== protocol) return false;
                if (pp.port === undefined) return true;
                if (typeof pp.port !== "number") return false;
                return cp.containerPort >= pp.port && cp.containerPort <= (pp.endPort ?? pp.port);
            });
            if (!allowed) return true;
        }
        return false;
    }

    /** The allow entries a pod's probes get for a direction, or undefined when nothing isolates it (default allow). */
    entriesFor(pod: NormalPod, type: "Ingress" | "Egress"): AllowEntry[] | undefined {
        const policies = this.policiesFor(pod, type);
        if (policies.length === 0) return undefined;
        return policies.flatMap((p) => (type === "Ingress" ? this.ingressEntries(p) : this.egressEntries(p)));
    }

    // ---- Enforcement ----

    /** Is a new flow from/to `pod` with peer address `peerIp` allowed by the pod's own policies in `type`? */
    private judge(pod: NormalPod, type: "Ingress" | "Egress", peerIp: string, protocol: Protocol, port: number): { allowed: boolean; why: string } {
        const id = `${pod.namespace}/${pod.name}`;
        const dir = type === "Egress" ? `egress ${id} → ${peerIp}:${port}/${protocol}` : `ingress ${peerIp} → ${id}:${port}/${protocol}`;
        if (pod.hostNetwork) return { allowed: true, why: `${dir}: allowed (hostNetwork pod, not enforced)` };
        const entries = this.entriesFor(pod, type);
        if (!entries) return { allowed: true, why: `${dir}: allowed (no ${type} policy selects the pod)` };
        const names = this.policiesFor(pod, type).map((p) => p.name).join(", ");
        if (pod.nodeIp && peerIp === pod.nodeIp) return { allowed: true, why: `${dir}: allowed (the pod's own node)` };
        if (this.mode === "vpc-cni") {
            const hit = lookupTrie(buildTrie(entries, pod.nodeIp), peerIp, protocol, port);
            return {
                allowed: hit.allowed,
                why: `${dir}: ${hit.allowed ? "allowed" : "denied"} by [${names}] (${hit.match ? `longest match ${hit.match}: ${portText(hit.ports!)}` : "no entry matches"})`,
            };
        }
        const hit = entries.find((e) => inCidr(peerIp, e.cidr) && !(e.except ?? []).some((x) => inCidr(peerIp, x)) && (e.ports.length === 0 || l4Allows(e.ports, protocol, port) === "allow"));
        return { allowed: !!hit, why: `${dir}: ${hit ? `allowed by ${hit.cidr} (${portText(hit.ports)})` : "denied"} in [${names}]` };
    }

    private podByIp(ip: string): NormalPod | undefined {
        return this.pods.find((p) => p.ip === ip && !p.hostNetwork);
    }

    /** Where a Service's port leads: each ready backing pod at the resolved targetPort, or its manual endpoints. */
    private endpointsOf(svc: NormalService, sp: NormalService["ports"][number]): Endpoint[] {
        if (!svc.selector) {
            if (typeof sp.targetPort !== "number") throw new Error(`networkPolicy evaluator: Service ${svc.namespace}/${svc.name} has no selector, so its targetPort must be a number`);
            return (svc.endpoints ?? []).map((ip) => ({ ip, port: sp.targetPort as number, pod: this.podByIp(ip) }));
        }
        const out: Endpoint[] = [];
        for (const pod of this.backingPods(svc)) {
            const port = typeof sp.targetPort === "number" ? sp.targetPort : pod.ports.find((c) => c.name === sp.targetPort && c.protocol === sp.protocol)?.containerPort;
            if (port !== undefined) out.push({ ip: pod.ip, port, pod });
        }
        return out;
    }

    /** Is a new connection from `src` to `dst` allowed? Both ends' policies apply: egress at the source, ingress at every endpoint. */
    check(src: Source, dst: Destination): Verdict {
        const srcPod = typeof src === "string" ? this.pod(src) : undefined;
        const srcIp = srcPod ? srcPod.ip : (src as { ip: string }).ip;
        const protocol = dst.protocol ?? TCP;
        const why: string[] = [];

        // What the source dials (pre-DNAT) and where the packets land (post-DNAT).
        let dialIp: string;
        let dialPort: number;
        let endpoints: Endpoint[];
        const svcByIp = "ip" in dst ? this.services.find((s) => s.clusterIP === dst.ip) : undefined;
        if ("service" in dst || svcByIp) {
            const svc = svcByIp ?? this.service((dst as { service: string }).service);
            const sp = svc.ports.find((x) => x.protocol === protocol && (typeof dst.port === "number" ? x.port === dst.port : x.name === dst.port));
            if (!sp) return { allowed: false, why: [`Service ${svc.namespace}/${svc.name} has no ${protocol} port ${dst.port}`] };
            if (svc.clusterIP === "None") throw new Error(`networkPolicy evaluator: ${svc.namespace}/${svc.name} is headless; dial its pods`);
            dialIp = svc.clusterIP;
            dialPort = sp.port;
            endpoints = this.endpointsOf(svc, sp);
            if (endpoints.length === 0) return { allowed: false, why: [`Service ${svc.namespace}/${svc.name} port ${sp.port} has no endpoints`] };
        } else if ("pod" in dst) {
            const pod = this.pod(dst.pod);
            const port = typeof dst.port === "number" ? dst.port : pod.ports.find((c) => c.name === dst.port && c.protocol === protocol)?.containerPort;
            if (port === undefined) return { allowed: false, why: [`pod ${dst.pod} declares no ${protocol} port named ${dst.port}`] };
            dialIp = pod.ip;
            dialPort = port;
            endpoints = [{ ip: pod.ip, port, pod }];
        } else {
            dialIp = dst.ip;
            dialPort = dst.port;
            endpoints = [{ ip: dst.ip, port: dst.port, pod: this.podByIp(dst.ip) }];
        }

        let allowed = true;
        if (srcPod) {
            // vpc-cni: one verdict on the address the pod dials. kubernetes: on every endpoint after DNAT.
            const targets = this.mode === "vpc-cni" ? [{ ip: dialIp, port: dialPort }] : endpoints;
            for (const t of targets) {
                const v = this.judge(srcPod, "Egress", t.ip, protocol, t.port);
                why.push(v.why);
                allowed &&= v.allowed;
            }
        }
        for (const ep of endpoints) {
            if (!ep.pod) continue;
            const v = this.judge(ep.pod, "Ingress", srcIp, protocol, ep.port);
            why.push(v.why);
            allowed &&= v.allowed;
        }
        return { allowed, why };
    }
}
