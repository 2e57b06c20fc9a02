/**
 * no-inbound-to-tailscale — Tailscale agents are outbound-only (reference: "No inbound connections are
 * required — no security group rules need to allow inbound traffic to Tailscale agents").
 *
 * An agent is recognised by what it is (./tailscale.ts: the containerboot env contract, `tailscaled` /
 * `tailscale up` command lines, the auth-key Secret it reads however delivered, the tailscale image, the
 * `tailscale-agent` component label), in every pod-spec bearer (Deployment … CronJob, Pod, PodTemplate,
 * custom resources embedding pod specs), and on EC2 (user data running Tailscale).
 *
 * Stops: pod-spec fields that bypass Services and NetworkPolicy on agents (hostNetwork, hostPort, hostPID,
 * hostIPC); security-group ingress on an agent's security group in all three AWS forms — a group is the agents'
 * by tag or name, by a SecurityGroupPolicy (security groups for pods) selecting agent pods, by the instance /
 * launch template / ENI of an EC2 agent, or by the launch template of a node group dedicated to agents (tagged for
 * them, or the one agents are pinned to by nodeSelector); SSH remote access on such a node group; any Kubernetes
 * Service selecting agent pods; an agents' namespace without a deny-all-ingress NetworkPolicy; NetworkPolicies
 * that re-open ingress to agents.
 */
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { b64, KubeData, namespaceKey, requiredNodeLabels, sameNs } from "./k8s";
import { inlineWorkloadViews, referencesData, WorkloadView, workloadViews } from "./tailscale";
import {
    arr, COMPONENT_LABEL, get, indexBy, isEmptySelector, isObj, isUnknown, k8sType, labelSelectorMatches, num, Obj, raw, resolveRef, ROLE_TAG,
    selectorMatches, StackRes, str, tags,
} from "./util";

export { namespaceKey };
export const SG = "aws:ec2/securityGroup:SecurityGroup";
export const SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule";
export const SG_INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
const INSTANCE = "aws:ec2/instance:Instance";
const LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate";
const ENI = "aws:ec2/networkInterface:NetworkInterface";
const ENI_ATTACHMENT = "aws:ec2/networkInterfaceAttachment:NetworkInterfaceAttachment";
const ENI_SG_ATTACHMENT = "aws:ec2/networkInterfaceSecurityGroupAttachment:NetworkInterfaceSecurityGroupAttachment";
const NODE_GROUPS = new Set(["aws:eks/nodeGroup:NodeGroup", "eks:index:ManagedNodeGroup"]);
const SG_POLICY_GROUP = "vpcresources.k8s.aws";

/** A security group belongs to a Tailscale agent by role tag, or by "tailscale" in its name/description/Name tag. */
export function isTailscaleSecurityGroup(name: string, props: Obj): boolean {
    const t = tags(props);
    if (t[ROLE_TAG] === "tailscale-agent") return true;
    const texts = [name, str(props.name), str(props.namePrefix), str(props.description), str(t["Name"])];
    return texts.some((s) => !!s && /tailscale/i.test(s));
}

/** A Service selector that names the agent component directly (caught without the rest of the stack). */
function selectsAgentComponent(props: Obj): boolean {
    const sel = get(props, "spec", "selector");
    return isObj(sel) && (sel[COMPONENT_LABEL] === "tailscale-agent" || Object.values(sel).some((v) => typeof v === "string" && /^tailscale(-agent)?$/i.test(v)));
}

/** Host-level exposure of a pod spec: fields that put the pod on the node's network or namespaces. */
export function hostExposure(spec: Obj): string[] {
    const out: string[] = [];
    for (const f of ["hostNetwork", "hostPID", "hostIPC"]) if (spec[f] === true || spec[f] === "true") out.push(`${f}: true`);
    for (const list of [spec.initContainers, spec.containers, spec.ephemeralContainers]) {
        for (const c of arr(list)) {
            for (const port of arr(get(c, "ports"))) {
                const hp = num(get(port, "hostPort"));
                if (hp !== undefined && hp > 0) out.push(`container '${str(get(c, "name")) ?? "?"}' hostPort ${hp}`);
            }
        }
    }
    return out;
}
const HOST_FIX = "Remediation: remove hostNetwork/hostPID/hostIPC and hostPort from the agent: it needs none of them (userspace networking, outbound only), and they expose it on the node's interfaces past Services and NetworkPolicy.";

function reportHost(name: string, views: WorkloadView[], rv: (m: string) => void) {
    for (const v of views) {
        if (!v.agent) continue;
        const h = hostExposure(v.ps.spec);
        if (h.length > 0) rv(`Tailscale agent '${name}' (${v.ps.where}) sets ${h.join(", ")}, which exposes it at the host level. ${HOST_FIX}`);
    }
}

export const noInboundToTailscale: ResourceValidationPolicy = {
    name: "no-inbound-to-tailscale",
    description:
        "Tailscale agents only dial out (coordination server, DERP). Their security groups carry no ingress rules, no Kubernetes Service selects them, and they never use the host's network, PID/IPC namespaces or host ports.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        const kt = k8sType(args.type);
        if (args.type !== SG && args.type !== SG_INGRESS_RULE && !kt) return;
        const props = raw(args.props);
        if (args.type === SG) {
            if (!isTailscaleSecurityGroup(args.name, props)) return;
            const ingress = props.ingress;
            if (isUnknown(ingress)) return;
            const n = arr(ingress).length;
            if (n > 0) {
                reportViolation(
                    `Security group '${args.name}' of the Tailscale agents has ${n} inline ingress rule(s); agents need no inbound traffic. ` +
                        "Remediation: remove every `ingress` entry (keep egress TCP 443, UDP 41641, UDP 3478).",
                );
            }
            return;
        }
        if (args.type === SG_INGRESS_RULE) {
            if (tags(props)[ROLE_TAG] === "tailscale-agent") {
                reportViolation(`Ingress rule '${args.name}' is tagged for the Tailscale agents; agents must not accept inbound traffic. Remediation: delete this rule.`);
            }
            return;
        }
        if (kt!.kind === "Service" && kt!.group === "core") {
            if (selectsAgentComponent(props)) {
                reportViolation(
                    `Service '${args.name}' selects the Tailscale agent pods, which would give them an inbound path. ` +
                        "Remediation: delete the Service; the agents reach the tailnet outbound and need no Service.",
                );
            }
            return;
        }
        reportHost(args.name, inlineWorkloadViews(args.type, props), reportViolation);
    },
};

interface Agent {
    urn: string;
    res: StackRes;
    ns: string;
    podLabels: Obj;
    nodeLabels: Obj;
}

function sameKeys(a: Obj, b: Obj): boolean {
    for (const k of Object.keys(a)) if (a[k] !== b[k]) return false;
    return true;
}

/** SG references in a (possibly nested) property: known ids/names through the index, unknown ones through propertyDependencies. */
function sgRefs(r: StackRes, prop: string, values: unknown[], sgs: Map<string, StackRes>): StackRes[] {
    const out = new Set<StackRes>();
    let unknown = false;
    for (const v of values) {
        if (typeof v === "string" && !isUnknown(v)) {
            const hit = sgs.get(v);
            if (hit) out.add(hit);
        } else unknown = true;
    }
    if (unknown) for (const d of r.propertyDependencies?.[prop] ?? []) if (sgs.has(d.urn)) out.add(sgs.get(d.urn)!);
    return [...out];
}

const TAILSCALE_USERDATA = /\btailscaled?\b[^\n]*\b(up|login|--authkey|--auth-key)\b|tailscale\.com\/install\.sh|\btailscaled\b/;
/** EC2 user data (plain or base64) that installs or starts Tailscale. */
export function userDataRunsTailscale(p: Obj): boolean {
    const plain = str(p.userData);
    const enc = str(p.userDataBase64);
    for (const t of [plain, plain ? b64(plain) : undefined, enc ? b64(enc) : undefined]) if (t && TAILSCALE_USERDATA.test(t)) return true;
    return false;
}

/** Launch-template security groups: vpcSecurityGroupIds, securityGroupNames, networkInterfaces[].securityGroups. */
function launchTemplateSgs(lt: StackRes, sgs: Map<string, StackRes>): StackRes[] {
    const p = raw(lt.props);
    return [
        ...sgRefs(lt, "vpcSecurityGroupIds", arr(p.vpcSecurityGroupIds), sgs),
        ...sgRefs(lt, "securityGroupNames", arr(p.securityGroupNames), sgs),
        ...sgRefs(lt, "networkInterfaces", arr(p.networkInterfaces).flatMap((n) => arr(get(n, "securityGroups"))), sgs),
    ];
}
function launchTemplateOf(r: StackRes, lts: Map<string, StackRes>, prop: string, spec: unknown): StackRes | undefined {
    const id = get(spec, "id");
    const name = get(spec, "name");
    for (const v of [id, name]) {
        const hit = typeof v === "string" && !isUnknown(v) ? lts.get(v) : undefined;
        if (hit) return hit;
    }
    if (spec === undefined) return undefined;
    const deps = (r.propertyDependencies?.[prop] ?? []).filter((d) => lts.has(d.urn));
    return deps.length === 1 ? deps[0] : undefined;
}

/** Generic node labels select a class of nodes, not a node group dedicated to agents. */
const GENERIC_NODE_LABEL = /^(kubernetes\.io\/(os|arch|hostname)|node\.kubernetes\.io\/|topology\.kubernetes\.io\/|eks\.amazonaws\.com\/(capacityType|compute-type)|karpenter\.sh\/|beta\.kubernetes\.io\/)/;

/** An SG-sourced rule on the kubelet (10250) or webhook/API (443) port: what the control plane needs on any node. */
function controlPlaneRule(protocol: unknown, from: unknown, to: unknown, sgSourced: boolean): boolean {
    const proto = String(protocol ?? "").toLowerCase();
    const f = num(from);
    const t = num(to);
    return sgSourced && (proto === "tcp" || proto === "6") && f !== undefined && f === t && (f === 10250 || f === 443);
}

export const noInboundToTailscaleStack: StackValidationPolicy = {
    name: "no-inbound-to-tailscale-stack",
    description:
        "Across the stack: no security-group rule admits ingress to an agent's security group (found by tag, name, security groups for pods, EC2 instance/launch template/ENI, or a node group dedicated to agents), no Service selects agent pods, and the agents' namespace denies all ingress with a NetworkPolicy.",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        const resources = args.resources as unknown as StackRes[];
        const agents: Agent[] = [];
        const services: StackRes[] = [];
        const netpols: StackRes[] = [];
        const sgPolicies: StackRes[] = [];
        const rules: StackRes[] = [];
        const instances: StackRes[] = [];
        const nodeGroups: StackRes[] = [];
        const eniLinks: StackRes[] = [];
        let hasSg = false;
        let kd: KubeData | undefined;
        for (const r of resources) {
            const t = r.type;
            if (t === SG) hasSg = true;
            else if (t === SG_RULE || t === SG_INGRESS_RULE) rules.push(r);
            else if (t === INSTANCE) instances.push(r);
            else if (NODE_GROUPS.has(t)) nodeGroups.push(r);
            else if (t === ENI || t === ENI_ATTACHMENT || t === ENI_SG_ATTACHMENT) eniLinks.push(r);
            const kt = k8sType(t);
            if (!kt) continue;
            if (kt.kind === "Service" && kt.group === "core") services.push(r);
            else if (kt.kind === "NetworkPolicy" && kt.group === "networking.k8s.io") netpols.push(r);
            else if (kt.group === SG_POLICY_GROUP && kt.kind === "SecurityGroupPolicy") sgPolicies.push(r);
            else {
                const p = raw(r.props);
                const inline = inlineWorkloadViews(t, p);
                if (inline.length === 0) continue;
                const ns = namespaceKey(r);
                const joined = inline.every((v) => v.agent) || !referencesData(inline) ? inline : workloadViews(t, p, ns, r, (kd ??= new KubeData(resources)));
                joined.forEach((v, i) => {
                    if (!v.agent || v.ps.tailscale) return; // a ProxyClass shapes the operator's pods; it is no pod itself
                    agents.push({ urn: r.urn, res: r, ns, podLabels: v.ps.labels, nodeLabels: requiredNodeLabels(v.ps.spec) });
                    if (!inline[i]?.agent) reportHost(r.name, [v], (m) => reportViolation(m, r.urn));
                });
            }
        }

        // 1. The agents' security groups: pod-level (strict) and node-level (control-plane rules allowed).
        const strict = new Map<string, StackRes>(); // urn → SG
        const nodeLevel = new Map<string, StackRes>();
        const why = new Map<string, string>();
        if (hasSg) {
            const sgs = indexBy(resources, (r) => r.type === SG);
            for (const sg of new Set(sgs.values())) if (isTailscaleSecurityGroup(sg.name, raw(sg.props))) strict.set(sg.urn, sg);
            const tagged = new Set(strict.keys());
            const add = (m: Map<string, StackRes>, list: StackRes[], reason: string) => {
                for (const sg of list) {
                    if (!m.has(sg.urn)) why.set(sg.urn, reason);
                    m.set(sg.urn, sg);
                }
            };
            // Security groups for pods.
            for (const sp of sgPolicies) {
                const p = raw(sp.props);
                const ns = namespaceKey(sp);
                const sel = get(p, "spec", "podSelector");
                if (sel === undefined) continue;
                const hit = agents.find((a) => sameNs(a.ns, ns) && labelSelectorMatches(sel, a.podLabels) === true);
                if (!hit) continue;
                add(strict, sgRefs(sp, "spec", arr(get(p, "spec", "securityGroups", "groupIds")), sgs), `SecurityGroupPolicy '${sp.name}' assigns it to the pods of agent ${hit.urn}`);
            }
            // EC2 agents: user data, launch template, ENIs.
            const lts = indexBy(resources, (r) => r.type === LAUNCH_TEMPLATE);
            const agentInstances = new Map<string, StackRes>();
            for (const inst of instances) {
                const p = raw(inst.props);
                const lt = launchTemplateOf(inst, lts, "launchTemplate", p.launchTemplate);
                const agent = tags(p)[ROLE_TAG] === "tailscale-agent" || userDataRunsTailscale(p) || (lt !== undefined && userDataRunsTailscale(raw(lt.props)));
                if (!agent) continue;
                agentInstances.set(inst.urn, inst);
                const reason = `it belongs to EC2 instance '${inst.name}', which runs Tailscale`;
                add(strict, [...sgRefs(inst, "vpcSecurityGroupIds", arr(p.vpcSecurityGroupIds), sgs), ...sgRefs(inst, "securityGroups", arr(p.securityGroups), sgs)], reason);
                if (lt) add(strict, launchTemplateSgs(lt, sgs), reason);
            }
            for (const lt of new Set(lts.values())) if (userDataRunsTailscale(raw(lt.props))) add(strict, launchTemplateSgs(lt, sgs), `launch template '${lt.name}' runs Tailscale`);
            if (eniLinks.length > 0) {
                const instIdx = new Map<string, StackRes>();
                for (const i of agentInstances.values()) for (const k of [i.urn, str(raw(i.props).id)]) if (k) instIdx.set(k, i);
                const enis = indexBy(resources, (r) => r.type === ENI);
                const agentEnis = new Set<StackRes>();
                for (const l of eniLinks) {
                    const p = raw(l.props);
                    if (l.type === ENI && arr(p.attachments).some((a) => instIdx.has(String(get(a, "instance"))) || (l.propertyDependencies?.["attachments"] ?? []).some((d) => instIdx.has(d.urn)))) agentEnis.add(l);
                    if (l.type === ENI_ATTACHMENT && resolveRef(l, "instanceId", instIdx, ["networkInterfaceId"])) {
                        const e = resolveRef(l, "networkInterfaceId", enis, ["instanceId"]);
                        if (e) agentEnis.add(e);
                    }
                }
                for (const e of agentEnis) add(strict, sgRefs(e, "securityGroups", arr(raw(e.props).securityGroups), sgs), `it is on ENI '${e.name}' of an EC2 agent`);
                const eniIdx = new Map<string, StackRes>();
                for (const e of agentEnis) for (const k of [e.urn, str(raw(e.props).id)]) if (k) eniIdx.set(k, e);
                for (const l of eniLinks) {
                    if (l.type !== ENI_SG_ATTACHMENT || !resolveRef(l, "networkInterfaceId", eniIdx, ["securityGroupId"])) continue;
                    const sg = resolveRef(l, "securityGroupId", sgs, ["networkInterfaceId"]);
                    if (sg) add(strict, [sg], `attachment '${l.name}' puts it on an EC2 agent's ENI`);
                }
            }
            // Node groups dedicated to agents.
            for (const ng of nodeGroups) {
                const p = raw(ng.props);
                const ngLabels: Obj = { ...(isObj(p.labels) ? p.labels : {}) };
                const ngName = str(p.nodeGroupName);
                if (ngName) ngLabels["eks.amazonaws.com/nodegroup"] = ngName;
                const dedicated =
                    tags(p)[ROLE_TAG] === "tailscale-agent" || [ng.name, ngName, str(tags(p)["Name"])].some((s) => !!s && /tailscale/i.test(s))
                        ? `node group '${ng.name}' is tagged for the agents`
                        : (() => {
                              const a = agents.find((x) => {
                                  const specific = Object.fromEntries(Object.entries(x.nodeLabels).filter(([k]) => !GENERIC_NODE_LABEL.test(k)));
                                  return Object.keys(specific).length > 0 && sameKeys(specific, ngLabels);
                              });
                              return a ? `agent ${a.urn} is pinned to node group '${ng.name}'` : undefined;
                          })();
                if (!dedicated) continue;
                if (isObj(p.remoteAccess) && str(p.remoteAccess.ec2SshKey)) {
                    reportViolation(
                        `Node group '${ng.name}' runs the Tailscale agents (${dedicated}) and enables SSH remote access (remoteAccess.ec2SshKey${arr(p.remoteAccess.sourceSecurityGroupIds).length === 0 ? ", with no source security groups: port 22 open to 0.0.0.0/0" : ""}). ` +
                            "Remediation: remove remoteAccess; use SSM Session Manager if node access is ever needed.",
                        ng.urn,
                    );
                }
                const lt = launchTemplateOf(ng, lts, "launchTemplate", p.launchTemplate);
                if (lt) add(nodeLevel, launchTemplateSgs(lt, sgs).filter((sg) => !strict.has(sg.urn)), dedicated);
            }
            // Inline ingress on groups found through joins (tagged/named ones are reported by the resource policy).
            for (const [m, node] of [[strict, false], [nodeLevel, true]] as const) {
                for (const sg of m.values()) {
                    if (tagged.has(sg.urn)) continue;
                    const ingress = raw(sg.props).ingress;
                    if (isUnknown(ingress)) continue;
                    const bad = arr(ingress).filter((g) => !(node && isObj(g) && controlPlaneRule(g.protocol, g.fromPort, g.toPort, arr(g.securityGroups).length > 0 || g.self === true) && arr(g.cidrBlocks).length === 0 && arr(g.ipv6CidrBlocks).length === 0 && arr(g.prefixListIds).length === 0));
                    if (bad.length > 0) {
                        reportViolation(
                            `Security group '${sg.name}' reaches the Tailscale agents (${why.get(sg.urn)}) and has ${bad.length} inline ingress rule(s); agents need no inbound traffic. ` +
                                "Remediation: remove the ingress (a node group's launch-template group may keep only the control plane's TCP 443/10250 from the cluster security group).",
                            sg.urn,
                        );
                    }
                }
            }
        }
        if (strict.size > 0 || nodeLevel.size > 0) {
            const all = new Map<string, StackRes>();
            for (const m of [strict, nodeLevel]) for (const sg of m.values()) {
                all.set(sg.urn, sg);
                const p = raw(sg.props);
                for (const k of ["id", "arn", "name"]) if (str(p[k])) all.set(str(p[k])!, sg);
            }
            for (const r of rules) {
                const p = raw(r.props);
                if (r.type === SG_RULE && p.type !== "ingress") continue;
                if (r.type === SG_INGRESS_RULE && tags(p)[ROLE_TAG] === "tailscale-agent") continue; // reported by the resource policy
                const other = r.type === SG_RULE ? ["sourceSecurityGroupId", "prefixListIds"] : ["referencedSecurityGroupId", "prefixListId"];
                const group = resolveRef(r, "securityGroupId", all, other);
                if (!group) continue;
                const sgSourced = r.type === SG_RULE ? p.sourceSecurityGroupId !== undefined || p.self === true : p.referencedSecurityGroupId !== undefined;
                if (nodeLevel.has(group.urn) && controlPlaneRule(r.type === SG_RULE ? p.protocol : p.ipProtocol, p.fromPort, p.toPort, sgSourced)) continue;
                reportViolation(
                    `Ingress rule '${r.name}' (${r.type}) is attached to the Tailscale agents' security group '${group.name}'${why.has(group.urn) ? ` (${why.get(group.urn)})` : ""}; agents must not accept inbound traffic. ` +
                        "Remediation: delete the rule; agents only need egress TCP 443, UDP 41641 and UDP 3478.",
                    r.urn,
                );
            }
        }
        if (agents.length === 0) return;

        // 2. Services selecting agents (indexed by "label=value" and namespace: no services × agents scan).
        const byLabel = new Map<string, Agent[]>();
        const byNs = new Map<string, Agent[]>();
        for (const a of agents) {
            for (const [k, v] of Object.entries(a.podLabels)) {
                const key = `${k}=${String(v)}`;
                const list = byLabel.get(key);
                if (list) list.push(a);
                else byLabel.set(key, [a]);
            }
            const list = byNs.get(a.ns);
            if (list) list.push(a);
            else byNs.set(a.ns, [a]);
        }
        const inNs = (ns: string): Agent[] => (ns === "*" ? agents : [...(byNs.get(ns) ?? []), ...(byNs.get("*") ?? [])]);
        for (const s of services) {
            const p = raw(s.props);
            if (selectsAgentComponent(p)) continue; // reported by the resource policy
            const sel = get(p, "spec", "selector");
            if (!isObj(sel) || Object.keys(sel).length === 0) continue; // no selector: no pods selected
            const [k0, v0] = Object.entries(sel)[0];
            if (isUnknown(v0)) continue;
            const ns = namespaceKey(s);
            const hit = (byLabel.get(`${k0}=${String(v0)}`) ?? []).find((a) => sameNs(a.ns, ns) && selectorMatches(sel, a.podLabels) === true);
            if (hit) {
                reportViolation(
                    `Service '${s.name}' selects the pods of Tailscale agent ${hit.urn}, giving them an inbound path. Remediation: delete the Service or change its selector; agents need no Service.`,
                    s.urn,
                );
            }
        }

        // 3. NetworkPolicies: deny-all per agents' namespace, none re-opening ingress.
        const agentNamespaces = new Map<string, Agent>();
        for (const a of agents) if (!agentNamespaces.has(a.ns)) agentNamespaces.set(a.ns, a);
        const denyAllNs = new Set<string>();
        for (const np of netpols) {
            const p = raw(np.props);
            const spec = get(p, "spec");
            if (!isObj(spec)) continue;
            const types = spec.policyTypes;
            if (isUnknown(types) || isUnknown(spec.ingress)) continue;
            const coversIngress = types === undefined || types === null || arr(types).includes("Ingress");
            const ingressRules = arr(spec.ingress);
            const ns = namespaceKey(np);
            if (coversIngress && ingressRules.length === 0 && isEmptySelector(spec.podSelector)) denyAllNs.add(ns);
            if (ingressRules.length > 0) {
                const opened = inNs(ns).find((a) => labelSelectorMatches(spec.podSelector, a.podLabels) === true);
                if (opened) {
                    reportViolation(
                        `NetworkPolicy '${np.name}' allows ingress to the pods of Tailscale agent ${opened.urn}. Remediation: remove its \`ingress\` rules or narrow its podSelector so it excludes the agents.`,
                        np.urn,
                    );
                }
            }
        }
        for (const [ns, a] of agentNamespaces) {
            if (!(denyAllNs.has(ns) || denyAllNs.has("*") || (ns === "*" && denyAllNs.size > 0))) {
                reportViolation(
                    `Namespace '${ns}' runs Tailscale agent ${a.urn} but has no deny-all-ingress NetworkPolicy. ` +
                        "Remediation: add a NetworkPolicy in that namespace with `podSelector: {}`, `policyTypes: [Ingress]` and no ingress rules.",
                    a.urn,
                );
            }
        }
    },
};
