/**
 * tailscale-management-only — Tailscale carries management and troubleshooting traffic only: never a
 * subnet route or exit node into the VPC, only short-lived tagged auth keys, and an ACL that lets only
 * the on-call group reach the data-plane tags.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { arr, containers, isObj, isTailscaleContainer, isTailscaleWorkload, isUnknown, k8sType, num, Obj, parseHuJson, podTemplate, raw, str } from "./util";

export const TAILNET_KEY = "tailscale:index/tailnetKey:TailnetKey";
export const TAILSCALE_ACL = "tailscale:index/acl:Acl";
export const DEVICE_SUBNET_ROUTES = "tailscale:index/deviceSubnetRoutes:DeviceSubnetRoutes";

const ADVERTISE_ROUTES = /--advertise-routes(?:=|\s+)(?!["']?(?:\s|$))\S+/;
const ADVERTISE_EXIT = /--advertise-exit-node(?!=false)\b/;

interface Cfg {
    maxAuthKeyExpirySeconds?: number;
    oncallGroups?: string[];
    dataPlaneTags?: string[];
    allowedSources?: string[];
}

/** Problems with one container's Tailscale settings (routes / exit node). */
function containerProblems(c: Obj): string[] {
    const out: string[] = [];
    for (const e of arr(c.env)) {
        if (!isObj(e)) continue;
        const name = String(e.name);
        const value = str(e.value);
        if (name === "TS_ROUTES" && (e.valueFrom !== undefined || (value !== undefined && value.trim() !== ""))) {
            out.push(`TS_ROUTES=${value ?? "<from valueFrom>"} makes it a subnet router`);
        }
        if (/^TS_(EXTRA_ARGS|TAILSCALED_EXTRA_ARGS)$/.test(name) && value) {
            if (ADVERTISE_ROUTES.test(value)) out.push(`${name} advertises subnet routes`);
            if (ADVERTISE_EXIT.test(value)) out.push(`${name} advertises an exit node`);
        }
    }
    const cmd = [...arr(c.command), ...arr(c.args)].filter((x) => typeof x === "string").join(" ");
    if (ADVERTISE_ROUTES.test(cmd)) out.push("its command line advertises subnet routes");
    if (ADVERTISE_EXIT.test(cmd)) out.push("its command line advertises an exit node");
    return out;
}

/** `host:ports` (acls) or plain host (grants) → host. */
function aclHost(dst: string): string {
    if (dst === "*" || dst.startsWith("autogroup:") && !dst.includes(":", "autogroup:".length)) return dst;
    const i = dst.lastIndexOf(":");
    if (i > 0 && /^[\d*,\-]+$/.test(dst.slice(i + 1))) return dst.slice(0, i);
    return dst;
}

export function aclProblems(acl: unknown, cfg: Cfg): string[] {
    if (!isObj(acl)) return ["the ACL is not a JSON object"];
    const dataPlaneTags = new Set(cfg.dataPlaneTags ?? []);
    const oncall = new Set(cfg.oncallGroups ?? []);
    const allowed = new Set(cfg.allowedSources ?? []);
    const isDataPlane = (host: string) =>
        host === "*" || host === "autogroup:tagged" || (host.startsWith("tag:") && (dataPlaneTags.size === 0 || dataPlaneTags.has(host)));
    const sourceOk = (s: string) => allowed.has(s) || (s.startsWith("group:") && (oncall.size === 0 || oncall.has(s)));
    const out: string[] = [];
    const check = (kind: string, i: number, rule: unknown, hosts: string[]) => {
        if (!isObj(rule)) return;
        if (kind === "acls" && rule.action !== undefined && rule.action !== "accept") return;
        const targets = hosts.filter(isDataPlane);
        if (targets.length === 0) return;
        const bad = arr(rule.src).map(String).filter((s) => !sourceOk(s));
        if (bad.length > 0) {
            out.push(`${kind}[${i}] lets ${bad.map((b) => JSON.stringify(b)).join(", ")} reach ${targets.join(", ")}`);
        }
    };
    arr(acl.grants).forEach((g, i) => check("grants", i, g, isObj(g) ? arr(g.dst).map(String) : []));
    arr(acl.acls).forEach((a, i) => check("acls", i, a, isObj(a) ? arr(a.dst).map((d) => aclHost(String(d))) : []));
    return out;
}

export const tailscaleManagementOnly: ResourceValidationPolicy = {
    name: "tailscale-management-only",
    description:
        "Tailscale is for management and troubleshooting only: agents never advertise subnet routes or exit nodes, auth keys are tagged, pre-authorized, single-use and short-lived, and the ACL lets only the on-call group reach the data-plane tags.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            maxAuthKeyExpirySeconds: { type: "integer", default: 3600, description: "Longest allowed auth-key lifetime (seconds)." },
            oncallGroups: { type: "array", items: { type: "string" }, default: [], description: "ACL groups allowed to reach data-plane tags; empty = any group:*." },
            dataPlaneTags: { type: "array", items: { type: "string" }, default: [], description: "Tags of data-plane devices; empty = every tag." },
            allowedSources: { type: "array", items: { type: "string" }, default: [], description: "Extra ACL sources allowed besides on-call groups (e.g. a management tag)." },
        },
    },
    validateResource: (args, reportViolation) => {
        const type = args.type;
        if (!type.startsWith("kubernetes:") && !type.startsWith("tailscale:")) return;
        const props = raw(args.props);
        const cfg = args.getConfig<Cfg>();

        const tmpl = podTemplate(type, props);
        if (tmpl) {
            const agent = isTailscaleWorkload(type, props);
            for (const c of containers(tmpl.spec)) {
                if (!agent && !isTailscaleContainer(c)) continue;
                for (const p of containerProblems(c)) {
                    reportViolation(
                        `Tailscale container '${str(c.name) ?? "?"}' in '${args.name}': ${p}; Tailscale must never route into the VPC. ` +
                            "Remediation: remove TS_ROUTES / --advertise-routes / --advertise-exit-node; expose services through a TailnetEndpoint (agent + nginx) instead.",
                    );
                }
            }
            return;
        }
        if (type === DEVICE_SUBNET_ROUTES) {
            const routes = props.routes;
            if (!isUnknown(routes) && arr(routes).length > 0) {
                reportViolation(
                    `'${args.name}' enables subnet routes ${JSON.stringify(routes)} on a tailnet device. Remediation: delete this resource; data-plane devices must not route.`,
                );
            }
            return;
        }
        const kt = k8sType(type);
        if (kt && kt.group === "tailscale.com" && kt.kind === "Connector") {
            const spec = isObj(props.spec) ? props.spec : {};
            if (spec.subnetRouter !== undefined || spec.exitNode === true) {
                reportViolation(
                    `Tailscale Connector '${args.name}' configures a subnet router or exit node. Remediation: remove spec.subnetRouter / spec.exitNode.`,
                );
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
                reportViolation(
                    `Auth key '${args.name}': ${problems.join("; ")}. Remediation: set tags: ["tag:…"], preauthorized: true, reusable: false and expiry ≤ ${max}.`,
                );
            }
            return;
        }
        if (type === TAILSCALE_ACL) {
            const text = props.acl;
            if (isUnknown(text) || text === undefined) return;
            let doc: unknown;
            try {
                doc = typeof text === "string" ? parseHuJson(text) : text;
            } catch (e) {
                reportViolation(`Tailnet ACL '${args.name}' cannot be parsed (${(e as Error).message}), so its grants cannot be verified. Remediation: fix the JSON/HuJSON.`);
                return;
            }
            for (const p of aclProblems(doc, cfg)) {
                reportViolation(
                    `Tailnet ACL '${args.name}': ${p}; only the on-call group may reach data-plane devices (never "*", autogroup:member or users). ` +
                        "Remediation: restrict `src` of that rule to the on-call group (group:…).",
                );
            }
        }
    },
};
