/**
 * A small IAM evaluator for identity policies: what can a principal holding these documents do? It implements
 * the parts of the AWS policy evaluation logic that decide *whether* something can be allowed:
 *
 *  - an explicit Deny wins over any Allow; no matching Allow = implicit deny;
 *  - Action / NotAction (case-insensitive), Resource / NotResource (case-sensitive), `*` and `?` wildcards;
 *  - policy variables (`${aws:username}`, `${aws:PrincipalTag/k}` …) in resources: a principal tag the role
 *    carries is substituted, any other variable can be anything (`*`); `${*}`, `${?}`, `${$}` are the literals;
 *  - conditions are not evaluated: an Allow with a Condition may apply, a Deny with a Condition may not — the
 *    answer is the worst case ("can this role, in some request, …?"), which is the question least privilege asks;
 *  - a permissions boundary, when known, must allow too.
 *
 * Why our own and not a library: the simulators on npm (@cloud-copilot/iam-simulate, iam-expand) are AGPL-3.0,
 * which the Apache-2.0 pack must not load at run time; the tests cross-check this evaluator against
 * iam-simulate (a dev dependency) on the same documents.
 */
import { arr, isObj, isUnknown, Obj, parseJsonDoc, str } from "./util";

export interface Statement {
    effect: "Allow" | "Deny";
    action?: string[];
    notAction?: string[];
    resource?: string[];
    notResource?: string[];
    conditional: boolean;
    /** "<document> Statement[i] (Sid)" */
    label: string;
}

export interface PolicyDoc {
    name: string;
    statements: Statement[];
}

export type ParsedPolicy = { ok: true; doc: PolicyDoc } | { ok: false; unknown: boolean; problem?: string };

const strings = (v: unknown): string[] | undefined => {
    if (v === undefined || v === null) return undefined;
    if (typeof v === "string") return isUnknown(v) ? ["*"] : [v];
    if (Array.isArray(v)) return v.map((x) => (typeof x === "string" && !isUnknown(x) ? x : "*"));
    return ["*"];
};

const parseCache = new Map<string, ParsedPolicy>();

/** Parses an IAM policy document (string, object or unknown); string documents are parsed once per name. */
export function parsePolicy(policy: unknown, name: string): ParsedPolicy {
    if (typeof policy !== "string") return parsePolicyUncached(policy, name);
    const key = `${name}\u0000${policy}`;
    let hit = parseCache.get(key);
    if (!hit) {
        hit = parsePolicyUncached(policy, name);
        if (parseCache.size > 20000) parseCache.clear();
        parseCache.set(key, hit);
    }
    return hit;
}

function parsePolicyUncached(policy: unknown, name: string): ParsedPolicy {
    if (policy === undefined || policy === null) return { ok: false, unknown: false };
    if (isUnknown(policy)) return { ok: false, unknown: true };
    const doc = parseJsonDoc(policy);
    if (!doc) return { ok: false, unknown: false, problem: `${name} is not valid JSON, so it cannot be verified` };
    const raw = Array.isArray(doc.Statement) ? doc.Statement : isObj(doc.Statement) ? [doc.Statement] : undefined;
    if (!raw) return { ok: false, unknown: false, problem: `${name} has no Statement list` };
    const statements: Statement[] = [];
    raw.forEach((s: unknown, i: number) => {
        if (!isObj(s)) return;
        const effect = s.Effect === "Deny" ? "Deny" : s.Effect === "Allow" ? "Allow" : undefined;
        if (!effect) return; // IAM rejects other values
        statements.push({
            effect,
            action: strings(s.Action),
            notAction: strings(s.NotAction),
            resource: strings(s.Resource),
            notResource: strings(s.NotResource),
            conditional: isObj(s.Condition) ? Object.keys(s.Condition).length > 0 : s.Condition !== undefined && s.Condition !== null,
            label: `${name} Statement[${i}]${str(s.Sid) ? ` (${s.Sid})` : ""}`,
        });
    });
    return { ok: true, doc: { name, statements } };
}

const reCacheCi = new Map<string, RegExp>();
const reCacheCs = new Map<string, RegExp>();
function globRe(pattern: string, ci: boolean, vars: Obj): RegExp {
    const cacheable = vars === NO_VARS || !pattern.includes("${");
    const cache = ci ? reCacheCi : reCacheCs;
    const hit = cacheable ? cache.get(pattern) : undefined;
    if (hit) return hit;
    let src = "";
    for (let i = 0; i < pattern.length; i++) {
        const c = pattern[i];
        if (c === "$" && pattern[i + 1] === "{") {
            const end = pattern.indexOf("}", i + 2);
            if (end > 0) {
                const name = pattern.slice(i + 2, end);
                if (name === "*" || name === "?" || name === "$") src += "\\" + name;
                else {
                    const known = Object.prototype.hasOwnProperty.call(vars, name) ? vars[name] : undefined;
                    src += typeof known === "string" ? known.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&") : ".*";
                }
                i = end;
                continue;
            }
        }
        if (c === "*") src += ".*";
        else if (c === "?") src += ".";
        else src += c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
    }
    const re = new RegExp(`^${src}$`, ci ? "is" : "s");
    if (cacheable && cache.size < 5000) cache.set(pattern, re);
    return re;
}
const NO_VARS: Obj = Object.freeze({}) as Obj;

export function matches(pattern: string, value: string, ci: boolean, vars: Obj = NO_VARS): boolean {
    if (pattern === "*") return true;
    if (!/[*?$]/.test(pattern)) return ci ? pattern.toLowerCase() === value.toLowerCase() : pattern === value;
    return globRe(pattern, ci, vars).test(value);
}

function stmtApplies(s: Statement, action: string, resource: string, vars: Obj): boolean {
    const actOk = s.action ? s.action.some((p) => matches(p, action, true)) : s.notAction ? !s.notAction.some((p) => matches(p, action, true)) : false;
    if (!actOk) return false;
    return s.resource ? s.resource.some((p) => matches(p, resource, false, vars)) : s.notResource ? !s.notResource.some((p) => matches(p, resource, false, vars)) : false;
}

const DENIED: Decision = Object.freeze({ allowed: false });

export interface Decision {
    allowed: boolean;
    /** The Allow statement that lets it through (worst case). */
    by?: Statement;
}

/** Can a principal with `docs` (and `boundary`, when given) perform `action` on `resource` in some request? */
export function evaluate(docs: PolicyDoc[], action: string, resource: string, opts: { vars?: Obj; boundary?: PolicyDoc[] } = {}): Decision {
    const vars = opts.vars ?? NO_VARS;
    let by: Statement | undefined;
    for (const d of docs) {
        for (const s of d.statements) {
            if (!stmtApplies(s, action, resource, vars)) continue;
            if (s.effect === "Deny" && !s.conditional) return DENIED;
            if (s.effect === "Allow" && !by) by = s;
        }
    }
    if (!by) return DENIED;
    if (opts.boundary && opts.boundary.length > 0 && !evaluate(opts.boundary, action, resource, { vars }).allowed) return DENIED;
    return { allowed: true, by };
}

/** Probe values for a wildcard pattern: the pattern with its wildcards filled in. */
export function instantiate(pattern: string, filler: string): string {
    return pattern.replace(/\$\{[^}]*\}/g, filler).replace(/\*/g, filler).replace(/\?/g, "z");
}

/** Every action and resource string the documents name (for probing). */
export function namedValues(docs: PolicyDoc[]): { actions: Set<string>; resources: Set<string> } {
    const actions = new Set<string>();
    const resources = new Set<string>();
    for (const d of docs) {
        for (const s of d.statements) {
            for (const a of [...(s.action ?? []), ...(s.notAction ?? [])]) actions.add(a);
            for (const r of [...(s.resource ?? []), ...(s.notResource ?? [])]) resources.add(r);
        }
    }
    return { actions, resources };
}

/** Re-exported for callers that build documents from role inputs. */
export function inlinePolicies(role: Obj): { name: string; policy: unknown }[] {
    return arr(role.inlinePolicies).filter(isObj).map((p, i) => ({ name: str(p.name) ?? `inlinePolicies[${i}]`, policy: p.policy }));
}
