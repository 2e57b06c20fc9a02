/**
 * no-inbound-to-tailscale — Tailscale agents are outbound-only (reference: "No inbound connections are
 * required — no security group rules need to allow inbound traffic to Tailscale agents").
 *
 * Stops: any security-group ingress on a Tailscale agent's group, in all three AWS forms (inline
 * `ingress[]`, `aws:ec2/securityGroupRule`, `aws:vpc/securityGroupIngressRule`); any Kubernetes Service
 * (any type) that selects the agent pods; an agents' namespace without a deny-all-ingress NetworkPolicy,
 * and NetworkPolicies that re-open ingress to the agents.
 */
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import {
    arr, COMPONENT_LABEL, get, indexBy, isEmptySelector, isObj, isTailscaleWorkload, isUnknown, k8sType,
    labelSelectorMatches, labels, Obj, podTemplate, raw, resolveRef, ROLE_TAG, selectorMatches, StackRes, str, tags,
} from "./util";

export const SG = "aws:ec2/securityGroup:SecurityGroup";
export const SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule";
export const SG_INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";

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

export const noInboundToTailscale: ResourceValidationPolicy = {
    name: "no-inbound-to-tailscale",
    description:
        "Tailscale agents only dial out (coordination server, DERP). Their security groups carry no ingress rules and no Kubernetes Service selects them.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        const kt = k8sType(args.type);
        if (args.type !== SG && args.type !== SG_INGRESS_RULE && kt?.kind !== "Service") return;
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
        if (args.type === SG_INGRESS_RULE && tags(props)[ROLE_TAG] === "tailscale-agent") {
            reportViolation(
                `Ingress rule '${args.name}' is tagged for the Tailscale agents; agents must not accept inbound traffic. Remediation: delete this rule.`,
            );
            return;
        }
        if (kt && kt.kind === "Service" && selectsAgentComponent(props)) {
            reportViolation(
                `Service '${args.name}' selects the Tailscale agent pods, which would give them an inbound path. ` +
                    "Remediation: delete the Service; the agents reach the tailnet outbound and need no Service.",
            );
        }
    },
};

interface Agent {
    urn: string;
    ns: string;
    podLabels: Obj;
}

/** Namespace of a namespaced object; "*" when it cannot be known (matches anything). */
export function namespaceKey(r: StackRes): string {
    const ns = get(raw(r.props), "metadata", "namespace");
    if (typeof ns === "string" && !isUnknown(ns)) return ns;
    if (ns === undefined || ns === null || ns === "") return "default";
    const deps = [...(r.propertyDependencies?.["metadata"] ?? []), ...(r.dependencies ?? [])];
    for (const d of deps) {
        if (d.type === "kubernetes:core/v1:Namespace") {
            return str(get(raw(d.props), "metadata", "name")) ?? d.urn;
        }
    }
    return "*";
}
function sameNs(a: string, b: string): boolean {
    return a === b || a === "*" || b === "*";
}

export const noInboundToTailscaleStack: StackValidationPolicy = {
    name: "no-inbound-to-tailscale-stack",
    description:
        "Across the stack: no security-group rule resource adds ingress to a Tailscale agent's group, no Service selects the agent pods, and the agents' namespace denies all ingress with a NetworkPolicy.",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        const resources = args.resources as unknown as StackRes[];
        // 1. Security-group rules attached to an agent group, joined by id / URN / dependency.
        const tsGroups = indexBy(resources, (r) => r.type === SG && isTailscaleSecurityGroup(r.name, raw(r.props)));
        // 2. Agents, Services, NetworkPolicies.
        const agents: Agent[] = [];
        const services: StackRes[] = [];
        const netpols: StackRes[] = [];
        for (const r of resources) {
            const p = raw(r.props);
            if (tsGroups.size > 0 && (r.type === SG_RULE || r.type === SG_INGRESS_RULE)) {
                if (r.type === SG_RULE) {
                    const t = p.type;
                    if (t !== "ingress") continue;
                } else if (tags(p)[ROLE_TAG] === "tailscale-agent") {
                    continue; // already reported by the resource policy
                }
                const other = r.type === SG_RULE ? ["sourceSecurityGroupId"] : ["referencedSecurityGroupId"];
                const group = resolveRef(r, "securityGroupId", tsGroups, other);
                if (group) {
                    reportViolation(
                        `Ingress rule '${r.name}' (${r.type}) is attached to the Tailscale agents' security group '${group.name}'; agents must not accept inbound traffic. ` +
                            "Remediation: delete the rule; agents only need egress TCP 443, UDP 41641 and UDP 3478.",
                        r.urn,
                    );
                }
                continue;
            }
            const kt = k8sType(r.type);
            if (!kt) continue;
            if (kt.kind === "Service") services.push(r);
            else if (kt.kind === "NetworkPolicy" && kt.group === "networking.k8s.io") netpols.push(r);
            else if (isTailscaleWorkload(r.type, p)) {
                agents.push({ urn: r.urn, ns: namespaceKey(r), podLabels: podTemplate(r.type, p)!.labels });
            }
        }
        if (agents.length === 0) return;

        // Indexes (no O(services × agents) scans): agents by "label=value" and by namespace.
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
                    `Service '${s.name}' selects the pods of Tailscale agent ${hit.urn}, giving them an inbound path. ` +
                        "Remediation: delete the Service or change its selector; agents need no Service.",
                    s.urn,
                );
            }
        }

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
            const rules = arr(spec.ingress);
            const ns = namespaceKey(np);
            if (coversIngress && rules.length === 0 && isEmptySelector(spec.podSelector)) denyAllNs.add(ns);
            if (rules.length > 0) {
                const opened = inNs(ns).find((a) => labelSelectorMatches(spec.podSelector, a.podLabels) === true);
                if (opened) {
                    reportViolation(
                        `NetworkPolicy '${np.name}' allows ingress to the pods of Tailscale agent ${opened.urn}. ` +
                            "Remediation: remove its `ingress` rules or narrow its podSelector so it excludes the agents.",
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
