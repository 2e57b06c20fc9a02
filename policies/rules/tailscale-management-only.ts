/**
 * tailscale-management-only — Tailscale carries management and troubleshooting traffic only: never a subnet
 * route, exit node, Funnel, SSH server or forwarder into the VPC, never a proxy from the cluster into the tailnet,
 * no credential in the data plane that can mint keys, only short-lived tagged auth keys, and a tailnet policy that
 * lets only the on-call group reach the data-plane tags.
 *
 * One policy, two halves: `validateResource` judges what a resource shows by itself (so it blocks as early as
 * CrossGuard allows); `validateStack` judges what takes a join — configuration an agent reads from ConfigMaps and
 * Secrets (envFrom, valueFrom, mounted config files), agents recognised only through those, and the tailnet policy
 * against the stack's own data-plane tags (the TailnetKeys' tags, the agents' --advertise-tags) and VPC CIDRs.
 */
import type { ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { KubeData, namespaceKey, objectData, podSpecs } from "./k8s";
import {
    AclContext, containerProblems, credentialKind, ingressOfTailscaleClass, invocations, OAUTH_CLIENT_TYPE, parseFlags, inlineWorkloadViews, referencesData, serviceExposedOnTailnet, serviceIsTailnetEgress, TAILNET_KEY_TYPE, tailnetPolicyProblems, WorkloadView, workloadViews,
} from "./tailscale";
import { arr, get, isObj, isUnknown, k8sType, num, parseHuJson, raw, StackRes, str } from "./util";

export const TAILNET_KEY = TAILNET_KEY_TYPE;
export const TAILSCALE_ACL = "tailscale:index/acl:Acl";
export const DEVICE_SUBNET_ROUTES = "tailscale:index/deviceSubnetRoutes:DeviceSubnetRoutes";

interface Cfg {
    maxAuthKeyExpirySeconds?: number;
    oncallGroups?: string[];
    dataPlaneTags?: string[];
    allowedSources?: string[];
}

const ROUTE_FIX =
    "Remediation: remove TS_ROUTES / --advertise-routes / --advertise-exit-node / --ssh / Funnel / TS_DEST_IP / proxy settings from the agent (wherever they are set: env, envFrom ConfigMaps/Secrets, args, scripts, config files); expose services through a TailnetEndpoint (agent + nginx) instead.";
const CRED_FIX =
    "Remediation: never give a data-plane workload an OAuth client secret or API key; mint a tagged, single-use auth key per agent with tailscale.TailnetKey and pass it through a Secret.";

function reportContainers(name: string, views: WorkloadView[], rv: (m: string) => void, filter: (inline: boolean, agent: boolean) => boolean) {
    for (const v of views) {
        for (const { cfg } of v.containers) {
            for (const p of containerProblems(cfg, v.agent)) {
                if (!filter(p.inline, v.agent)) continue;
                const isCred = p.credential === true;
                rv(
                    `${v.agent ? "Tailscale agent" : "Workload"} '${name}' container '${cfg.name}'${cfg.kind !== "main" ? ` (${cfg.kind} container)` : ""}: ${p.text}; ` +
                        `${isCred ? "a credential that mints keys must never live in the data plane" : "Tailscale must never route into the VPC or expose it"}. ${isCred ? CRED_FIX : ROUTE_FIX}`,
                );
            }
        }
    }
}

function validateResource(args: ResourceValidationArgs, reportViolation: (m: string) => void) {
    const type = args.type;
    if (!type.startsWith("kubernetes:") && !type.startsWith("tailscale:")) return;
    const props = raw(args.props);
    const cfg = args.getConfig<Cfg>();
    const kt = k8sType(type);

    if (kt) {
        const views = inlineWorkloadViews(type, props);
        if (views.length > 0) {
            reportContainers(args.name, views, reportViolation, (inline) => inline);
            return;
        }
        if (kt.group === "core" && kt.kind === "Service") {
            if (serviceExposedOnTailnet(props)) {
                reportViolation(
                    `Service '${args.name}' is exposed on the tailnet by the Tailscale operator (tailscale.com/expose or loadBalancerClass tailscale): a direct tailnet path to a workload, past the endpoint's nginx and the on-call ACL. ` +
                        "Remediation: remove the annotation / loadBalancerClass; reach management endpoints through a TailnetEndpoint.",
                );
            }
            if (serviceIsTailnetEgress(props)) {
                reportViolation(`Service '${args.name}' is a Tailscale egress proxy (tailscale.com/tailnet-fqdn / tailnet-ip): cluster workloads would reach the tailnet. Remediation: remove it; only the agents talk to the tailnet.`);
            }
            return;
        }
        if (kt.group.startsWith("networking.k8s.io") || kt.group === "extensions") {
            if (kt.kind === "Ingress") {
                const funnel = String(get(props, "metadata", "annotations", "tailscale.com/funnel")).toLowerCase() === "true";
                if (ingressOfTailscaleClass(props) || funnel) {
                    reportViolation(
                        `Ingress '${args.name}' publishes a workload through the Tailscale operator${funnel ? " with Funnel (public internet ingress)" : ""}. Remediation: remove it; management endpoints are TailnetEndpoints and nothing is published through Tailscale to the internet.`,
                    );
                }
            }
            return;
        }
        if (kt.group === "core" && (kt.kind === "Secret" || kt.kind === "ConfigMap")) {
            const { data } = objectData(kt.kind, props);
            for (const [k, v] of data) {
                const c = credentialKind(v, false);
                if (c) reportViolation(`${kt.kind} '${args.name}' (${k}) holds ${c}; a credential that mints keys must never live in the data plane. ${CRED_FIX}`);
            }
            return;
        }
        if (kt.group === "tailscale.com" && kt.kind === "Connector") {
            const spec = isObj(props.spec) ? props.spec : {};
            if (spec.subnetRouter !== undefined || spec.exitNode === true) {
                reportViolation(`Tailscale Connector '${args.name}' configures a subnet router or exit node. Remediation: remove spec.subnetRouter / spec.exitNode.`);
            }
        }
        return;
    }
    if (type === DEVICE_SUBNET_ROUTES) {
        const routes = props.routes;
        if (!isUnknown(routes) && arr(routes).length > 0) {
            reportViolation(`'${args.name}' enables subnet routes ${JSON.stringify(routes)} on a tailnet device. Remediation: delete this resource; data-plane devices must not route.`);
        }
        return;
    }
    if (type === TAILNET_KEY) {
        const max = cfg.maxAuthKeyExpirySeconds ?? 3600;
        const problems: string[] = [];
        const t = props.tags;
        if (!isUnknown(t)) {
            const list = arr(t);
            if (list.length === 0) problems.push("it has no ACL tags (devices would be owned by a user)");
            else if (list.some((x) => typeof x !== "string" || !x.startsWith("tag:"))) problems.push(`tags ${JSON.stringify(list)} must all be "tag:…"`);
        }
        if (!isUnknown(props.preauthorized) && props.preauthorized !== true) problems.push("it is not preauthorized");
        if (!isUnknown(props.reusable) && props.reusable === true) problems.push("it is reusable");
        if (!isUnknown(props.expiry)) {
            const e = num(props.expiry);
            if (e === undefined || e <= 0) problems.push(`it has no expiry (the Tailscale default is 90 days; the cap is ${max}s)`);
            else if (e > max) problems.push(`it expires after ${e}s (cap ${max}s)`);
        }
        if (problems.length > 0) {
            reportViolation(`Auth key '${args.name}': ${problems.join("; ")}. Remediation: set tags: ["tag:…"], preauthorized: true, reusable: false and expiry ≤ ${max}.`);
        }
    }
}

function collectTags(v: WorkloadView, out: string[]) {
    for (const { cfg: c } of v.containers) {
        for (const argv of c.argvs) for (const inv of invocations(argv)) out.push(...(inv.flags.get("advertise-tags") ?? []));
        const extra = c.env.get("TS_EXTRA_ARGS")?.value;
        if (extra) out.push(...(parseFlags(extra.trim().split(/\s+/)).flags.get("advertise-tags") ?? []));
    }
}

/** The stack's data-plane tags: its TailnetKeys' tags, its agents' --advertise-tags, Connector tags, config. */
function dataPlaneTagsOf(resources: StackRes[], agentFlags: string[], cfg: Cfg): Set<string> {
    const out = new Set<string>(cfg.dataPlaneTags ?? []);
    for (const r of resources) {
        const p = raw(r.props);
        if (r.type === TAILNET_KEY) for (const t of arr(p.tags)) if (typeof t === "string" && t.startsWith("tag:")) out.add(t);
        const kt = k8sType(r.type);
        if (kt?.group === "tailscale.com") for (const t of arr(get(p, "spec", "tags"))) if (typeof t === "string") out.add(t);
    }
    for (const f of agentFlags) for (const t of f.split(",")) if (t.trim().startsWith("tag:")) out.add(t.trim());
    return out;
}

function validateStack(args: Parameters<StackValidationPolicy["validateStack"]>[0], reportViolation: (m: string, urn?: string) => void) {
    const resources = args.resources as unknown as StackRes[];
    const cfg = args.getConfig<Cfg>();
    let kd: KubeData | undefined;
    const advertisedTags: string[] = [];
    const acls: StackRes[] = [];
    const vpcCidrs: string[] = [];
    const oncall = new Set<string>(cfg.oncallGroups ?? []);
    const allowed = new Set<string>(cfg.allowedSources ?? []);
    for (const r of resources) {
        const kt = k8sType(r.type);
        const p = raw(r.props);
        if (r.type === TAILSCALE_ACL) acls.push(r);
        else if (r.type === "aws:ec2/vpc:Vpc") {
            const c = str(p.cidrBlock);
            if (c) vpcCidrs.push(c);
        } else if (r.type === "pulumi:pulumi:Stack") {
            // The program's own ACL fragment output names the on-call group and the management tag.
            for (const g of arr(get(p, "tailnetAclFragment", "grants"))) {
                for (const s of arr(get(g, "src"))) if (typeof s === "string") (s.startsWith("group:") ? oncall : allowed).add(s);
            }
        } else if (kt && kt.group === "core" && kt.kind === "Secret") {
            const d = r.propertyDependencies ?? {};
            const fromOauth = [...(d["stringData"] ?? []), ...(d["data"] ?? [])].find((x) => x.type === OAUTH_CLIENT_TYPE);
            if (fromOauth) {
                reportViolation(`Secret '${r.name}' holds the secret of Tailscale OAuth client '${fromOauth.name}', which mints auth keys; a credential that mints keys must never live in the data plane. ${CRED_FIX}`, r.urn);
            }
        }
        if (!kt) continue;
        if (podSpecs(r.type, p).length === 0) continue;
        const ns = namespaceKey(r);
        const inlineViews = inlineWorkloadViews(r.type, p);
        if (!referencesData(inlineViews)) {
            // Nothing to join: the resource half has judged it all; only the agents' --advertise-tags are needed here.
            for (const v of inlineViews) if (v.agent) collectTags(v, advertisedTags);
            continue;
        }
        const joinedViews = workloadViews(r.type, p, ns, r, (kd ??= new KubeData(resources)));
        joinedViews.forEach((v, k) => {
            const wasAgent = inlineViews[k]?.agent ?? false;
            if (v.agent) collectTags(v, advertisedTags);
            reportContainers(r.name, [v], (m) => reportViolation(m, r.urn), (inline, agent) => !inline || (agent && !wasAgent));
        });
    }
    if (acls.length === 0) return;
    const ctx: AclContext = { dataPlaneTags: dataPlaneTagsOf(resources, advertisedTags, cfg), oncall, allowed, vpcCidrs };
    for (const r of acls) {
        const text = raw(r.props).acl;
        if (isUnknown(text) || text === undefined) continue;
        let doc: unknown;
        try {
            doc = typeof text === "string" ? parseHuJson(text) : text;
        } catch (e) {
            reportViolation(`Tailnet policy '${r.name}' cannot be parsed (${(e as Error).message}), so its grants cannot be verified. Remediation: fix the JSON/HuJSON.`, r.urn);
            continue;
        }
        const tagsNote = ctx.dataPlaneTags.size === 0 ? " (the stack names no data-plane tags, so every tag counts)" : "";
        for (const p of tailnetPolicyProblems(doc, ctx)) {
            reportViolation(
                `Tailnet policy '${r.name}': ${p}${tagsNote}; only the on-call group may reach data-plane devices, on their endpoint ports, and nothing may route, SSH or Funnel into them. ` +
                    `Remediation: restrict that rule's src to the on-call group (${[...oncall].join(", ") || "group:…"}), and remove ssh / funnel / auto-approvals for data-plane tags.`,
                r.urn,
            );
        }
    }
}

export const tailscaleManagementOnly: ResourceValidationPolicy & StackValidationPolicy = {
    name: "tailscale-management-only",
    description:
        "Tailscale is for management and troubleshooting only: agents never advertise routes or exit nodes, run SSH or Funnel, forward into the VPC or proxy the cluster into the tailnet; no data-plane workload holds a key-minting credential; auth keys are tagged, pre-authorized, single-use and short-lived; the tailnet policy lets only the on-call group reach the data-plane tags.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            maxAuthKeyExpirySeconds: { type: "integer", default: 3600, description: "Longest allowed auth-key lifetime (seconds)." },
            oncallGroups: { type: "array", items: { type: "string" }, default: [], description: "Tailnet policy groups allowed to reach data-plane tags (besides the stack's own tailnetAclFragment); empty and no fragment = none." },
            dataPlaneTags: { type: "array", items: { type: "string" }, default: [], description: "Data-plane tags besides the stack's TailnetKey / --advertise-tags; when none are known at all, every tag counts." },
            allowedSources: { type: "array", items: { type: "string" }, default: [], description: "Extra tailnet policy sources allowed besides on-call groups (e.g. a management tag)." },
        },
    },
    validateResource,
    validateStack,
};

/** Problems in a tailnet policy document under a config (kept for callers outside the pack, e.g. the fragment's tests). */
export function aclProblems(acl: unknown, cfg: Cfg & { vpcCidrs?: string[] }): string[] {
    return tailnetPolicyProblems(acl, {
        dataPlaneTags: new Set(cfg.dataPlaneTags ?? []),
        oncall: new Set(cfg.oncallGroups ?? []),
        allowed: new Set(cfg.allowedSources ?? []),
        vpcCidrs: cfg.vpcCidrs ?? [],
    });
}
