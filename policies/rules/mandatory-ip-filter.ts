/**
 * mandatory-ip-filter — the only public inbound path (client queries → NLB → Istio) is always behind an
 * IP allow list, and nothing else in the VPC is opened to the whole internet.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { arr, envOf, environmentSchema, get, isObj, isUnknown, isWorldCidr, k8sType, Obj, raw, str } from "./util";
import { SG, SG_INGRESS_RULE, SG_RULE } from "./no-inbound-to-tailscale";

export const HELM_RELEASE = "kubernetes:helm.sh/v3:Release";
const SOURCE_RANGES_ANNOTATION = "service.beta.kubernetes.io/load-balancer-source-ranges";

function worldCidrs(...lists: unknown[]): string[] {
    const out: string[] = [];
    for (const l of lists) {
        for (const c of typeof l === "string" ? [l] : arr(l)) if (isWorldCidr(c)) out.push(String(c));
    }
    return out;
}

/** Checks an allow list; returns a problem or undefined. `ranges === undefined` means unknown. */
function allowListProblem(ranges: string[] | undefined, prod: boolean): string | undefined {
    if (ranges === undefined) return undefined;
    if (ranges.length === 0) return "has no IP allow list (loadBalancerSourceRanges is empty), so the load balancer accepts the whole internet";
    const world = worldCidrs(ranges);
    if (prod && world.length > 0) return `allows ${world.join(", ")} in prod`;
    return undefined;
}

/** Source ranges of a Service spec + its annotation; undefined when unknown. */
function serviceRanges(props: Obj): string[] | undefined {
    const spec = get(props, "spec", "loadBalancerSourceRanges");
    const ann = get(props, "metadata", "annotations", SOURCE_RANGES_ANNOTATION);
    if (isUnknown(spec) || isUnknown(ann)) return undefined;
    if (Array.isArray(spec) && spec.some(isUnknown)) return undefined;
    const fromAnn = typeof ann === "string" ? ann.split(",").map((s) => s.trim()).filter(Boolean) : [];
    return [...arr(spec).map(String), ...fromAnn];
}

export const mandatoryIpFilter: ResourceValidationPolicy = {
    name: "mandatory-ip-filter",
    description:
        "Every LoadBalancer Service has a non-empty IP allow list (loadBalancerSourceRanges), never 0.0.0.0/0 or ::/0 in prod; no security group admits ingress from 0.0.0.0/0 or ::/0.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { ...environmentSchema } },
    validateResource: (args, reportViolation) => {
        const type = args.type;
        const kt = k8sType(type);
        const isService = kt !== undefined && kt.group === "core" && kt.kind === "Service";
        if (!isService && type !== HELM_RELEASE && type !== SG && type !== SG_RULE && type !== SG_INGRESS_RULE) return;
        const props = raw(args.props);
        const prod = envOf(args.getConfig<{ environment?: string }>()) === "prod";
        const fix =
            "Remediation: set `byoc:ingress.ipAllowList` (loadBalancerSourceRanges) to the client CIDRs; use a private ingress (internal NLB + peering) when clients are in a VPC.";

        if (isService) {
            if (get(props, "spec", "type") !== "LoadBalancer") return;
            const problem = allowListProblem(serviceRanges(props), prod);
            if (problem) reportViolation(`LoadBalancer Service '${args.name}' ${problem}. ${fix}`);
            return;
        }
        if (type === HELM_RELEASE) {
            const values = get(props, "values");
            if (!isObj(values)) return;
            const svc = get(values, "service");
            const chart = str(props.chart) ?? "";
            const svcType = get(svc, "type");
            const isGatewayChart = /(^|\/)gateway$/.test(chart) && /istio/i.test(`${str(get(props, "repositoryOpts", "repo")) ?? ""} ${chart}`);
            if (svcType === "LoadBalancer" || (svcType === undefined && isGatewayChart)) {
                const r = get(svc, "loadBalancerSourceRanges");
                if (isUnknown(r)) return;
                const problem = allowListProblem(arr(r).map(String), prod);
                if (problem) reportViolation(`Helm release '${args.name}' creates a LoadBalancer Service that ${problem}. ${fix}`);
            }
            return;
        }

        const sgFix = "Remediation: restrict the rule to known CIDRs (management NAT CIDRs, peered VPCs, the VPC CIDR) or a source security group.";
        if (type === SG) {
            if (isUnknown(props.ingress)) return;
            arr(props.ingress).forEach((rule, i) => {
                if (!isObj(rule)) return;
                const world = worldCidrs(rule.cidrBlocks, rule.ipv6CidrBlocks);
                if (world.length > 0) {
                    reportViolation(`Security group '${args.name}' ingress[${i}] (ports ${rule.fromPort}-${rule.toPort}) is open to ${world.join(", ")}. ${sgFix}`);
                }
            });
        } else if (type === SG_RULE) {
            if (props.type !== "ingress") return;
            const world = worldCidrs(props.cidrBlocks, props.ipv6CidrBlocks);
            if (world.length > 0) {
                reportViolation(`Security group rule '${args.name}' (ports ${props.fromPort}-${props.toPort}) admits ingress from ${world.join(", ")}. ${sgFix}`);
            }
        } else if (type === SG_INGRESS_RULE) {
            const world = worldCidrs(props.cidrIpv4, props.cidrIpv6);
            if (world.length > 0) {
                reportViolation(`Security group ingress rule '${args.name}' (ports ${props.fromPort}-${props.toPort}) admits ${world.join(", ")}. ${sgFix}`);
            }
        }
    },
};
