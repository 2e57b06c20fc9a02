/**
 * Helpers shared by the rule families. Everything here is pure and tolerant: rules are run against
 * foreign stacks (old checkpoints, previews with unknowns, secrets we cannot decrypt), so a helper
 * never throws on an odd shape — it answers "unknown" / "absent" instead.
 */
import * as ipaddr from "ipaddr.js";

/** Pulumi's wire sentinels for values not known during a preview (see @pulumi/policy/proxy). */
export const UNKNOWN_SENTINELS: ReadonlySet<string> = new Set([
    "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7", // boolean
    "3eeb2bf0-c639-47a8-9e75-3b44932eb421", // number
    "04da6b54-80e4-46f7-96ec-b56ff0331ba9", // string
    "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2", // array
    "030794c1-ac77-496b-92df-f27374a8bd58", // asset
    "e48ece36-62e2-4504-bad9-02848725956a", // archive
    "dd056dcd-154b-4c76-9bd3-c8f88648b5ff", // object
]);
/** The sentinel the snapshot reader substitutes for secrets it cannot decrypt. */
export const UNKNOWN_OBJECT = "dd056dcd-154b-4c76-9bd3-c8f88648b5ff";

export function isUnknown(v: unknown): boolean {
    return typeof v === "string" && v.length === 36 && UNKNOWN_SENTINELS.has(v);
}

/** Pulumi's signature key and the secret signature: a secret as a stack export writes it (`{[SIG]: SECRET_SIG, value}`). */
export const SIG = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/**
 * Plain value of a possibly secret-wrapped one; `undefined` for a secret without a plaintext `value`. Other values as
 * they are. The engine's snapshot reader and the CrossGuard runtime unwrap secrets already; hand-built resources and
 * Helm values may not.
 */
export function unwrapSecret(v: unknown): unknown {
    for (let i = 0; i < 4 && v !== null && typeof v === "object" && !Array.isArray(v) && (v as Obj)[SIG] === SECRET_SIG; i++) v = (v as Obj).value;
    return v;
}

/**
 * The CrossGuard runtime hands rules an "unknown-checking proxy" that throws on any access to an
 * unknown value. Our rules prefer to decide themselves what an unknown means, so they read the
 * proxied object's target (plain JSON with sentinels in place). Works on plain objects too.
 */
/** Proxy → target registry filled by our engine (a WeakMap lookup does not go through the proxy's traps). */
export const proxyTargets = new WeakMap<object, object>();

export function raw<T = Record<string, any>>(props: unknown): T {
    if (props !== null && typeof props === "object") {
        const t = proxyTargets.get(props);
        if (t) return t as T;
        const p = props as Record<string, unknown>;
        if (p["__isSpecialProxy"] === true) {
            return p["__getSpecialProxyTarget"] as T;
        }
    }
    return props as T;
}

export type Obj = Record<string, any>;

export function isObj(v: unknown): v is Obj {
    return v !== null && typeof v === "object" && !Array.isArray(v) && !isUnknown(v);
}
export function obj(v: unknown): Obj {
    return isObj(v) ? v : {};
}
export function arr(v: unknown): any[] {
    return Array.isArray(v) ? v : [];
}
export function str(v: unknown): string | undefined {
    return typeof v === "string" && !isUnknown(v) ? v : undefined;
}
/** Reads a path; returns undefined when absent, or the sentinel when a step along the way is unknown. */
export function get(o: unknown, ...path: string[]): any {
    let cur: any = o;
    for (const k of path) {
        if (isUnknown(cur)) return cur;
        if (cur === null || typeof cur !== "object") return undefined;
        cur = cur[k];
    }
    return cur;
}

/** Boolean with a default; `undefined` when unknown. Accepts "true"/"false" strings (old state files). */
export function bool(v: unknown, dflt: boolean): boolean | undefined {
    if (isUnknown(v)) return undefined;
    if (v === undefined || v === null) return dflt;
    if (typeof v === "boolean") return v;
    if (v === "true") return true;
    if (v === "false") return false;
    return dflt;
}

/** Parses a number (or numeric string); undefined when absent/unknown/garbage. */
export function num(v: unknown): number | undefined {
    if (typeof v === "number" && Number.isFinite(v)) return v;
    if (typeof v === "string" && !isUnknown(v) && v.trim() !== "" && Number.isFinite(Number(v))) return Number(v);
    return undefined;
}

// ------------------------------------------------------------------------------------------------
// CIDRs
// ------------------------------------------------------------------------------------------------

/**
 * True when the CIDR covers the whole IPv4 or IPv6 internet (0.0.0.0/0, ::/0, ::0/0, "0.0.0.0/00"...) or a block
 * broader than any real client network (shorter than /8, IPv6 /16) — the internet written in pieces, such as
 * 0.0.0.0/1 + 128.0.0.0/1.
 */
export function isWorldCidr(cidr: unknown): boolean {
    const s = str(cidr)?.trim();
    if (!s) return false;
    const slash = s.lastIndexOf("/");
    if (slash >= 0 && Number(s.slice(slash + 1)) >= 16) return false; // fast path: a narrow prefix
    try {
        const [addr, bits] = ipaddr.parseCIDR(s);
        return bits < (addr.kind() === "ipv4" ? 8 : 16);
    } catch {
        return s === "*" || s === "0/0" || /^0+(\.0+){0,3}\/0+$/.test(s);
    }
}

/** Is `inner` fully contained in one of `outer`? Unparseable values are never contained. */
export function cidrWithin(inner: string, outer: string[]): boolean {
    let a: [ipaddr.IPv4 | ipaddr.IPv6, number];
    try {
        a = ipaddr.parseCIDR(inner.trim());
    } catch {
        return false;
    }
    for (const o of outer) {
        try {
            const b = ipaddr.parseCIDR(o.trim());
            if (a[0].kind() !== b[0].kind() || a[1] < b[1]) continue;
            if ((a[0] as any).match(b)) return true;
        } catch {
            /* skip */
        }
    }
    return false;
}

// ------------------------------------------------------------------------------------------------
// Resource identity helpers (tags, names, joins)
// ------------------------------------------------------------------------------------------------

export const ROLE_TAG = "byoc:role";
export const COMPONENT_LABEL = "app.kubernetes.io/component";

export function tags(props: Obj): Obj {
    // tagsAll (outputs) includes provider default tags; tags (inputs) wins.
    return { ...obj(props.tagsAll), ...obj(props.tags) };
}

/** The resource name encoded in a URN (last `::` segment). */
export function urnName(urn: string): string {
    const i = urn.lastIndexOf("::");
    return i >= 0 ? urn.slice(i + 2) : urn;
}
/** Minimal shape of a resource as stack policies see it (mirrors @pulumi/policy PolicyResource). */
export interface StackRes {
    type: string;
    urn: string;
    name: string;
    props: Record<string, any>;
    dependencies: StackRes[];
    propertyDependencies: Record<string, StackRes[]>;
    parent?: StackRes;
}

/**
 * Identifiers other resources may use to reference this one in a property:
 * the physical id / name / arn (when known in outputs), and the URN.
 */
export function identifiers(r: StackRes, extraKeys: string[] = []): string[] {
    const p = raw(r.props);
    const out = [r.urn];
    for (const k of ["id", "arn", "name", ...extraKeys]) {
        const v = str(p[k]);
        if (v) out.push(v);
    }
    return out;
}

/** Index resources of the given types by every identifier, for O(1) joins. */
export function indexBy(resources: StackRes[], pred: (r: StackRes) => boolean, extraKeys: string[] = []): Map<string, StackRes> {
    const m = new Map<string, StackRes>();
    const keys = ["id", "arn", "name", ...extraKeys];
    for (const r of resources) {
        if (!pred(r)) continue;
        m.set(r.urn, r);
        const p = raw(r.props);
        for (const k of keys) {
            const v = str(p[k]);
            if (v) m.set(v, r);
        }
    }
    return m;
}

/**
 * Resolves which resource a reference property (e.g. `securityGroupId`, `bucket`, `vpcId`) points at:
 * 1. `propertyDependencies[prop]` (exact, recorded by Pulumi for Output-valued inputs);
 * 2. the property's known value matched against the index (ids, names, arns);
 * 3. as a last resort, the resource's `dependencies` that are in the index — only when exactly one
 *    candidate remains after removing the ones other reference properties point at.
 */
export function resolveRef(r: StackRes, prop: string, index: Map<string, StackRes>, otherRefProps: string[] = []): StackRes | undefined {
    const pd = r.propertyDependencies?.[prop];
    if (pd && pd.length > 0) {
        for (const d of pd) {
            const hit = index.get(d.urn);
            if (hit) return hit;
        }
    }
    const v = str(raw(r.props)[prop]);
    if (v !== undefined) {
        const hit = index.get(v);
        if (hit) return hit;
        if (!pd || pd.length === 0) return undefined; // a literal reference to something outside the stack
    }
    if (pd && pd.length > 0) return undefined;
    const exclude = new Set<string>();
    for (const o of otherRefProps) {
        for (const d of r.propertyDependencies?.[o] ?? []) exclude.add(d.urn);
    }
    const cands = new Map<string, StackRes>();
    for (const d of r.dependencies ?? []) {
        const hit = index.get(d.urn);
        if (hit && !exclude.has(hit.urn)) cands.set(hit.urn, hit);
    }
    if (cands.size === 1) return [...cands.values()][0];
    return undefined;
}

// ------------------------------------------------------------------------------------------------
// Kubernetes helpers
// ------------------------------------------------------------------------------------------------

export interface K8sType {
    group: string; // "core" for the core group
    version: string;
    kind: string;
}
/** Parses `kubernetes:<group>/<version>:<Kind>`; undefined for anything else. */
const k8sTypeCache = new Map<string, K8sType | undefined>();
export function k8sType(type: string): K8sType | undefined {
    if (!type.startsWith("kubernetes:")) return undefined;
    if (k8sTypeCache.has(type)) return k8sTypeCache.get(type);
    const m = /^kubernetes:([^:]+)\/([^/:]+):([^:]+)$/.exec(type);
    const t = m ? Object.freeze({ group: m[1], version: m[2], kind: m[3] }) : undefined;
    if (k8sTypeCache.size < 10000) k8sTypeCache.set(type, t);
    return t;
}

export function labels(props: Obj): Obj {
    return obj(get(props, "metadata", "labels"));
}

const WORKLOAD_KINDS = new Set(["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod", "ReplicationController"]);

export interface PodTemplate {
    labels: Obj;
    spec: Obj;
}
/** The pod template of a workload object (Deployment, StatefulSet, ..., CronJob, Pod). */
export function podTemplate(type: string, props: Obj): PodTemplate | undefined {
    const t = k8sType(type);
    if (!t || !WORKLOAD_KINDS.has(t.kind)) return undefined;
    if (t.kind === "Pod") return { labels: labels(props), spec: obj(props.spec) };
    const tmpl = t.kind === "CronJob" ? get(props, "spec", "jobTemplate", "spec", "template") : get(props, "spec", "template");
    return { labels: obj(get(tmpl, "metadata", "labels")), spec: obj(get(tmpl, "spec")) };
}

export function containers(spec: Obj): Obj[] {
    return [...arr(spec.initContainers), ...arr(spec.containers), ...arr(spec.ephemeralContainers)].filter(isObj);
}

/** Does a Service/NetworkPolicy-style selector match the given pod labels? Empty selector matches all. */
export function selectorMatches(selector: unknown, podLabels: Obj): boolean | undefined {
    if (isUnknown(selector)) return undefined;
    const sel = obj(selector);
    for (const [k, v] of Object.entries(sel)) {
        if (isUnknown(v)) return undefined;
        if (podLabels[k] !== v) return false;
    }
    return true;
}

/** LabelSelector (matchLabels + matchExpressions) against pod labels. */
export function labelSelectorMatches(selector: unknown, podLabels: Obj): boolean | undefined {
    if (isUnknown(selector)) return undefined;
    const s = obj(selector);
    const ml = selectorMatches(s.matchLabels, podLabels);
    if (ml !== true) return ml;
    for (const e of arr(s.matchExpressions)) {
        if (!isObj(e)) continue;
        const key = String(e.key);
        const vals = arr(e.values).map(String);
        const has = Object.prototype.hasOwnProperty.call(podLabels, key);
        switch (e.operator) {
            case "In":
                if (!has || !vals.includes(String(podLabels[key]))) return false;
                break;
            case "NotIn":
                if (has && vals.includes(String(podLabels[key]))) return false;
                break;
            case "Exists":
                if (!has) return false;
                break;
            case "DoesNotExist":
                if (has) return false;
                break;
            default:
                return undefined;
        }
    }
    return true;
}

export function isEmptySelector(selector: unknown): boolean {
    if (isUnknown(selector)) return false;
    const s = obj(selector);
    return Object.keys(obj(s.matchLabels)).length === 0 && arr(s.matchExpressions).length === 0;
}

// ------------------------------------------------------------------------------------------------
// Config and environment
// ------------------------------------------------------------------------------------------------

export type Environment = "dev" | "prod";

/** Standard config schema property every env-aware rule declares. Defaults to the strict environment. */
export const environmentSchema = {
    environment: {
        type: "string" as const,
        enum: ["dev", "prod"],
        default: "prod",
        description: "Environment of the stack; selects env-specific limits. Defaults to the strict (prod) setting.",
    },
};

export function envOf(cfg: { environment?: unknown }): Environment {
    return cfg.environment === "dev" ? "dev" : "prod";
}

/** Parses a JSON policy document that may be a string, an object, or unknown. */
export function parseJsonDoc(v: unknown): Obj | undefined {
    if (isUnknown(v) || v === undefined || v === null) return undefined;
    if (isObj(v)) return v;
    if (typeof v === "string") {
        try {
            const parsed = JSON.parse(v);
            return isObj(parsed) ? parsed : undefined;
        } catch {
            return undefined;
        }
    }
    return undefined;
}

/** Strips HuJSON comments and trailing commas so that JSON.parse can read Tailscale policy files. */
export function parseHuJson(text: string): unknown {
    let out = "";
    let i = 0;
    const n = text.length;
    while (i < n) {
        const c = text[i];
        if (c === '"') {
            let j = i + 1;
            while (j < n && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
            out += text.slice(i, j + 1);
            i = j + 1;
        } else if (c === "/" && text[i + 1] === "/") {
            while (i < n && text[i] !== "\n") i++;
        } else if (c === "/" && text[i + 1] === "*") {
            const end = text.indexOf("*/", i + 2);
            i = end < 0 ? n : end + 2;
        } else {
            out += c;
            i++;
        }
    }
    return JSON.parse(out.replace(/,(\s*[}\]])/g, "$1"));
}
