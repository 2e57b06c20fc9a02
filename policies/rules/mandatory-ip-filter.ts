/**
 * mandatory-ip-filter — the only public inbound path (client queries → NLB → Istio) is always behind an
 * IP allow list, and nothing else in the VPC is opened to the whole internet.
 *
 * Resource half: LoadBalancer Services (and the Istio gateway chart's), NodePort Services and externalIPs (ports
 * on every node, past the load balancer's allow list), internet-facing aws.lb / alb / elb load balancers without a
 * security group to filter on, world-open ingress on security groups (inline, default SG, both rule resources).
 * Stack half (joins): rules whose source is a managed prefix list holding a world-open CIDR; ALB Ingresses (their
 * class → IngressClass → IngressClassParams scheme and inboundCIDRs); Gateway API Gateways of Istio's class (which
 * create a LoadBalancer Service per Gateway).
 */
import type { ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { arr, envOf, environmentSchema, get, indexBy, isObj, isUnknown, isWorldCidr, k8sType, Obj, raw, resolveRef, StackRes, str } from "./util";
import { SG, SG_INGRESS_RULE, SG_RULE } from "./no-inbound-to-tailscale";

export const HELM_RELEASE = "kubernetes:helm.sh/v3:Release";
const SOURCE_RANGES_ANNOTATION = "service.beta.kubernetes.io/load-balancer-source-ranges";
const DEFAULT_SG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup";
const LB_TYPES = new Set(["aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer", "aws:elb/loadBalancer:LoadBalancer"]);
const PREFIX_LIST = "aws:ec2/managedPrefixList:ManagedPrefixList";
const PREFIX_LIST_ENTRY = "aws:ec2/managedPrefixListEntry:ManagedPrefixListEntry";
const ALB_CONTROLLER = "ingress.k8s.aws/alb";
const ISTIO_GATEWAY_CONTROLLER = "istio.io/gateway-controller";

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
    if (ranges.length === 0) return "has no IP allow list, so the load balancer accepts the whole internet";
    const world = worldCidrs(ranges);
    if (prod && world.length > 0) return `allows ${world.join(", ")} in prod`;
    return undefined;
}

const splitList = (v: unknown): string[] => (typeof v === "string" ? v.split(",").map((s) => s.trim()).filter(Boolean) : []);

/** Source ranges of a Service spec + its annotation; undefined when unknown. */
function serviceRanges(props: Obj): string[] | undefined {
    const spec = get(props, "spec", "loadBalancerSourceRanges");
    const ann = get(props, "metadata", "annotations", SOURCE_RANGES_ANNOTATION);
    if (isUnknown(spec) || isUnknown(ann)) return undefined;
    if (Array.isArray(spec) && spec.some(isUnknown)) return undefined;
    return [...arr(spec).map(String), ...splitList(ann)];
}

const FIX =
    "Remediation: set `byoc:ingress.ipAllowList` (loadBalancerSourceRanges) to the client CIDRs; use a private ingress (internal NLB + peering) when clients are in a VPC.";
const SG_FIX = "Remediation: restrict the rule to known CIDRs (management NAT CIDRs, peered VPCs, the VPC CIDR) or a source security group.";

function validateResource(args: ResourceValidationArgs, reportViolation: (m: string) => void) {
    const type = args.type;
    const kt = k8sType(type);
    const isService = kt !== undefined && kt.group === "core" && kt.kind === "Service";
    if (!isService && type !== HELM_RELEASE && type !== SG && type !== DEFAULT_SG && type !== SG_RULE && type !== SG_INGRESS_RULE && !LB_TYPES.has(type)) return;
    const props = raw(args.props);
    const prod = envOf(args.getConfig<{ environment?: string }>()) === "prod";

    if (isService) {
        const t = get(props, "spec", "type");
        const ext = get(props, "spec", "externalIPs");
        if (!isUnknown(ext) && arr(ext).length > 0) {
            reportViolation(`Service '${args.name}' binds externalIPs ${arr(ext).join(", ")} on the nodes, an entry point outside the load balancer's IP allow list. Remediation: remove spec.externalIPs; expose clients only through the allow-listed LoadBalancer.`);
        }
        if (t === "NodePort") {
            reportViolation(`Service '${args.name}' is a NodePort Service: it opens its ports on every node, past the load balancer's IP allow list. Remediation: use ClusterIP (in-cluster) or the allow-listed LoadBalancer for clients.`);
            return;
        }
        if (t !== "LoadBalancer" || get(props, "spec", "loadBalancerClass") === "tailscale") return; // tailscale: judged by tailscale-management-only
        const problem = allowListProblem(serviceRanges(props), prod);
        if (problem) reportViolation(`LoadBalancer Service '${args.name}' ${problem.replace("no IP allow list", "no IP allow list (loadBalancerSourceRanges is empty)")}. ${FIX}`);
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
            if (problem) reportViolation(`Helm release '${args.name}' creates a LoadBalancer Service that ${problem}. ${FIX}`);
        }
        return;
    }
    if (LB_TYPES.has(type)) {
        if (isUnknown(props.internal) || props.internal === true || props.internal === "true") return;
        const sgs = props.securityGroups;
        if (isUnknown(sgs) || arr(sgs).length > 0) return; // its groups' ingress is judged as security-group rules
        const classic = type.startsWith("aws:elb/");
        const kind = classic ? "classic ELB" : str(props.loadBalancerType) ?? "application";
        reportViolation(
            `Load balancer '${args.name}' (${kind}) is internet-facing (internal is not true) without security groups, so ${classic || kind === "application" ? "it gets a default group" : "nothing filters"} its clients by IP. ` +
                "Remediation: set internal: true, or give it securityGroups whose ingress names the client CIDRs (the customer's IP allow list).",
        );
        return;
    }
    if (type === SG || type === DEFAULT_SG) {
        if (isUnknown(props.ingress)) return;
        arr(props.ingress).forEach((rule, i) => {
            if (!isObj(rule)) return;
            const world = worldCidrs(rule.cidrBlocks, rule.ipv6CidrBlocks);
            if (world.length > 0) reportViolation(`Security group '${args.name}' ingress[${i}] (ports ${rule.fromPort}-${rule.toPort}) is open to ${world.join(", ")}. ${SG_FIX}`);
        });
    } else if (type === SG_RULE) {
        if (props.type !== "ingress") return;
        const world = worldCidrs(props.cidrBlocks, props.ipv6CidrBlocks);
        if (world.length > 0) reportViolation(`Security group rule '${args.name}' (ports ${props.fromPort}-${props.toPort}) admits ingress from ${world.join(", ")}. ${SG_FIX}`);
    } else if (type === SG_INGRESS_RULE) {
        const world = worldCidrs(props.cidrIpv4, props.cidrIpv6);
        if (world.length > 0) reportViolation(`Security group ingress rule '${args.name}' (ports ${props.fromPort}-${props.toPort}) admits ${world.join(", ")}. ${SG_FIX}`);
    }
}

function validateStack(args: Parameters<StackValidationPolicy["validateStack"]>[0], reportViolation: (m: string, urn?: string) => void) {
    const resources = args.resources as unknown as StackRes[];
    const prod = envOf(args.getConfig<{ environment?: string }>()) === "prod";
    const ingresses: StackRes[] = [];
    const gateways: StackRes[] = [];
    const classes = new Map<string, StackRes>();
    const gatewayClasses = new Map<string, string>();
    const params = new Map<string, StackRes>();
    let defaultClass: StackRes | undefined;
    const withPrefixLists: StackRes[] = [];
    let hasPrefixLists = false;
    for (const r of resources) {
        const p = raw(r.props);
        if (r.type === PREFIX_LIST || r.type === PREFIX_LIST_ENTRY) hasPrefixLists = true;
        else if (r.type === SG || r.type === DEFAULT_SG || r.type === SG_RULE || r.type === SG_INGRESS_RULE) withPrefixLists.push(r);
        const kt = k8sType(r.type);
        if (!kt) continue;
        if (kt.kind === "Ingress" && (kt.group.startsWith("networking.k8s.io") || kt.group === "extensions")) ingresses.push(r);
        else if (kt.kind === "IngressClass" && kt.group === "networking.k8s.io") {
            const n = str(get(p, "metadata", "name"));
            if (n) classes.set(n, r);
            if (String(get(p, "metadata", "annotations", "ingressclass.kubernetes.io/is-default-class")) === "true") defaultClass = r;
        } else if (kt.kind === "IngressClassParams" && kt.group === "elbv2.k8s.aws") {
            const n = str(get(p, "metadata", "name"));
            if (n) params.set(n, r);
        } else if (kt.group === "gateway.networking.k8s.io") {
            if (kt.kind === "Gateway") gateways.push(r);
            else if (kt.kind === "GatewayClass") {
                const n = str(get(p, "metadata", "name"));
                const c = str(get(p, "spec", "controllerName"));
                if (n && c) gatewayClasses.set(n, c);
            }
        }
    }

    // Prefix lists holding a world-open CIDR, used as a rule's source.
    if (hasPrefixLists && withPrefixLists.length > 0) {
        const lists = indexBy(resources, (r) => r.type === PREFIX_LIST);
        const world = new Map<string, string[]>(); // prefix-list urn → world CIDRs
        for (const l of new Set(lists.values())) {
            const w = worldCidrs(arr(raw(l.props).entries).map((e) => get(e, "cidr")));
            if (w.length > 0) world.set(l.urn, w);
        }
        for (const r of resources) {
            if (r.type !== PREFIX_LIST_ENTRY) continue;
            const l = resolveRef(r, "prefixListId", lists);
            const c = str(raw(r.props).cidr);
            if (l && c && isWorldCidr(c)) world.set(l.urn, [...(world.get(l.urn) ?? []), c]);
        }
        if (world.size > 0) {
            const refs = (r: StackRes, prop: string, values: unknown[]): StackRes[] => {
                const out = new Set<StackRes>();
                for (const v of values) if (typeof v === "string" && lists.has(v)) out.add(lists.get(v)!);
                if (values.some(isUnknown)) for (const d of r.propertyDependencies?.[prop] ?? []) if (lists.has(d.urn)) out.add(lists.get(d.urn)!);
                return [...out].filter((l) => world.has(l.urn));
            };
            for (const r of withPrefixLists) {
                const p = raw(r.props);
                let hits: StackRes[] = [];
                if (r.type === SG || r.type === DEFAULT_SG) hits = refs(r, "ingress", arr(p.ingress).flatMap((g) => arr(get(g, "prefixListIds"))));
                else if (r.type === SG_RULE) hits = p.type === "ingress" ? refs(r, "prefixListIds", arr(p.prefixListIds)) : [];
                else hits = refs(r, "prefixListId", p.prefixListId === undefined ? [] : [p.prefixListId]);
                for (const l of hits) {
                    reportViolation(`Security group ${r.type === SG || r.type === DEFAULT_SG ? "" : "rule "}'${r.name}' admits ingress from prefix list '${l.name}', which holds ${world.get(l.urn)!.join(", ")}. ${SG_FIX}`, r.urn);
                }
            }
        }
    }

    // ALB Ingresses: scheme and inbound CIDRs from the IngressClassParams their class names, else annotations.
    for (const ing of ingresses) {
        const p = raw(ing.props);
        const ann = isObj(get(p, "metadata", "annotations")) ? p.metadata.annotations : {};
        const clsName = str(get(p, "spec", "ingressClassName")) ?? str(ann["kubernetes.io/ingress.class"]);
        const cls = clsName ? classes.get(clsName) : defaultClass;
        const controller = cls ? str(get(raw(cls.props), "spec", "controller")) : undefined;
        const isAlb = controller === ALB_CONTROLLER || (!cls && clsName === "alb");
        if (!isAlb) continue;
        const paramsRef = cls ? get(raw(cls.props), "spec", "parameters") : undefined;
        const pr = isObj(paramsRef) && paramsRef.kind === "IngressClassParams" ? params.get(String(paramsRef.name)) : undefined;
        const pp = pr ? raw(pr.props).spec ?? {} : {};
        const scheme = str(pp.scheme) ?? str(ann["alb.ingress.kubernetes.io/scheme"]) ?? "internal";
        if (isUnknown(pp.scheme) || scheme !== "internet-facing") continue;
        if (!isObj(pp) || (pp.inboundCIDRs === undefined && ann["alb.ingress.kubernetes.io/security-groups"] !== undefined)) continue; // its own groups: judged as SG rules
        if (isUnknown(pp.inboundCIDRs) || isUnknown(ann["alb.ingress.kubernetes.io/inbound-cidrs"])) continue;
        const cidrs = Array.isArray(pp.inboundCIDRs) ? pp.inboundCIDRs.map(String) : splitList(ann["alb.ingress.kubernetes.io/inbound-cidrs"]);
        const problem = allowListProblem(cidrs, prod);
        if (problem) {
            reportViolation(
                `Ingress '${ing.name}' creates an internet-facing ALB${pr ? ` (IngressClassParams '${pr.name}')` : ""} that ${problem.replace("no IP allow list", "no IP allow list (no inbound-cidrs: the controller opens it to 0.0.0.0/0)")}. ` +
                    "Remediation: set alb.ingress.kubernetes.io/inbound-cidrs (or IngressClassParams spec.inboundCIDRs) to the client CIDRs, or scheme internal.",
                ing.urn,
            );
        }
    }

    // Gateway API Gateways of Istio's class: one LoadBalancer Service each, annotations copied from the Gateway.
    for (const g of gateways) {
        const p = raw(g.props);
        const cls = str(get(p, "spec", "gatewayClassName"));
        if (!cls) continue;
        const controller = gatewayClasses.get(cls) ?? (cls === "istio" ? ISTIO_GATEWAY_CONTROLLER : undefined);
        if (controller !== ISTIO_GATEWAY_CONTROLLER) continue;
        const ann = { ...(isObj(get(p, "metadata", "annotations")) ? p.metadata.annotations : {}), ...(isObj(get(p, "spec", "infrastructure", "annotations")) ? p.spec.infrastructure.annotations : {}) };
        const svcType = str(ann["networking.istio.io/service-type"]) ?? "LoadBalancer";
        if (svcType !== "LoadBalancer") continue;
        if (isUnknown(ann[SOURCE_RANGES_ANNOTATION])) continue;
        const problem = allowListProblem(splitList(ann[SOURCE_RANGES_ANNOTATION]), prod);
        if (problem) {
            reportViolation(
                `Gateway '${g.name}' (class ${cls}) makes Istio create a LoadBalancer Service that ${problem}. ` +
                    `Remediation: set the ${SOURCE_RANGES_ANNOTATION} annotation in spec.infrastructure.annotations to the client CIDRs, or networking.istio.io/service-type: ClusterIP.`,
                g.urn,
            );
        }
    }
}

export const mandatoryIpFilter: ResourceValidationPolicy & StackValidationPolicy = {
    name: "mandatory-ip-filter",
    description:
        "Every internet-facing entry point has a non-empty IP allow list (LoadBalancer Services, ALB Ingresses, Istio Gateways, aws load balancers through their security groups), never 0.0.0.0/0 or ::/0 in prod; no NodePort or externalIPs; no security group admits ingress from 0.0.0.0/0 or ::/0 (also through a prefix list).",
    enforcementLevel: "mandatory",
    configSchema: { properties: { ...environmentSchema } },
    validateResource,
    validateStack,
};
