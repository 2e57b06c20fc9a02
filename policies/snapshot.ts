/**
 * Reads the three Pulumi JSON shapes the checker accepts and turns them into engine resources:
 *
 *  - `pulumi stack export` (and the offline preview's snapshot): `{ version, deployment: { resources: [...] } }`,
 *    also the old checkpoint layout `{ version, checkpoint: { latest: { resources: [...] } } }`;
 *    props = outputs overlaid with inputs (declared values win, provider defaults fill the gaps);
 *  - `pulumi preview --json`: `{ steps: [{ op, urn, newState: { type, inputs, ... } }] }`; props = inputs,
 *    delete-type steps skipped, one entry per URN.
 *
 * Secrets are unwrapped where possible (`plaintext`, the `b64` provider's base64 ciphertext) and otherwise
 * replaced by Pulumi's "unknown" sentinel; resource references become their id/URN. Structural problems with
 * the file throw SnapshotError (one line, for exit code 2); problems with one resource are left for the
 * engine, which reports and skips that resource.
 */
import * as fs from "fs";
import type { Environment, PolicyResource } from "./engine";
import { SECRET_SIG, SIG, UNKNOWN_OBJECT, urnName } from "./rules/util";

export type SnapshotFormat = "stack-export" | "checkpoint" | "preview";

export interface Snapshot {
    format: SnapshotFormat;
    /** Candidate resources; may contain malformed entries (the engine reports them). */
    resources: PolicyResource[];
    /** Environment declared by the document itself (preview config `byoc:environment`), if any. */
    declaredEnvironment?: Environment;
}

export class SnapshotError extends Error {}

const RESOURCE_REF_SIG = "5cf8f73096256a8f31e491e813e4eb8e";
const OUTPUT_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4";
/** Step ops of `pulumi preview --json` whose resource is gone afterwards. */
export const SKIPPED_OPS: ReadonlySet<string> = new Set(["delete", "delete-replaced", "discard", "discard-replaced", "remove-pending-replace", "read-discard"]);

export function readSnapshotFile(file: string): Snapshot {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new SnapshotError(`cannot read ${file}: ${code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : (code ?? (e as Error).message)}`);
    }
    let doc: unknown;
    try {
        doc = JSON.parse(text);
    } catch (e) {
        throw new SnapshotError(`${file} is not valid JSON: ${(e as Error).message}`);
    }
    return parseSnapshot(doc, file);
}

function isObject(v: unknown): v is Record<string, any> {
    return v !== null && typeof v === "object" && !Array.isArray(v);
}

export function parseSnapshot(doc: unknown, source = "input"): Snapshot {
    if (!isObject(doc)) throw new SnapshotError(`${source}: expected a JSON object (pulumi stack export, checkpoint or preview --json)`);
    if ("steps" in doc) {
        if (!Array.isArray(doc.steps)) throw new SnapshotError(`${source}: "steps" is not an array`);
        const env = isObject(doc.config) ? doc.config["byoc:environment"] : undefined;
        return { format: "preview", resources: fromPreview(doc.steps), declaredEnvironment: env === "prod" || env === "dev" ? env : undefined };
    }
    if ("checkpoint" in doc) {
        const cp = doc.checkpoint;
        if (!isObject(cp)) throw new SnapshotError(`${source}: "checkpoint" is not an object`);
        const latest = cp.latest;
        if (latest === undefined || latest === null) return { format: "checkpoint", resources: [] };
        if (!isObject(latest)) throw new SnapshotError(`${source}: "checkpoint.latest" is not an object`);
        return { format: "checkpoint", resources: fromState(latest, `${source}: checkpoint.latest`) };
    }
    if ("deployment" in doc) {
        if (!isObject(doc.deployment)) throw new SnapshotError(`${source}: "deployment" is not an object`);
        return { format: "stack-export", resources: fromState(doc.deployment, `${source}: deployment`) };
    }
    throw new SnapshotError(
        `${source}: not a Pulumi document — missing "deployment" (pulumi stack export), "checkpoint" (old state) or "steps" (pulumi preview --json)`,
    );
}

function fromState(deployment: Record<string, any>, where: string): PolicyResource[] {
    const list = deployment.resources;
    if (list === undefined || list === null) return [];
    if (!Array.isArray(list)) throw new SnapshotError(`${where}.resources is not an array`);
    const provider = isObject(deployment.secrets_providers) ? String(deployment.secrets_providers.type ?? "") : "";
    const out: PolicyResource[] = [];
    for (const r of list) {
        if (isObject(r) && r.delete === true) continue; // pending deletion, no longer part of the stack
        out.push(toResource(r, r?.inputs, r?.outputs, provider));
    }
    return out;
}

function fromPreview(steps: unknown[]): PolicyResource[] {
    const byUrn = new Map<string, PolicyResource>();
    const out: PolicyResource[] = [];
    for (const step of steps) {
        if (!isObject(step)) {
            out.push(step as unknown as PolicyResource);
            continue;
        }
        if (SKIPPED_OPS.has(String(step.op))) continue;
        const ns = step.newState;
        if (ns === undefined || ns === null) continue; // e.g. a read/refresh step without state
        const r = toResource(isObject(ns) ? { urn: step.urn, ...ns } : ns, ns?.inputs, undefined, "");
        if (typeof r.urn === "string") byUrn.set(r.urn, r);
        else out.push(r);
    }
    return [...out, ...byUrn.values()];
}

/** Converts one state entry; malformed shapes are passed through for the engine to report. */
function toResource(r: unknown, inputs: unknown, outputs: unknown, secretsProvider: string): PolicyResource {
    if (!isObject(r)) return r as PolicyResource;
    let props: unknown;
    if (inputs !== undefined && inputs !== null && !isObject(inputs)) props = inputs;
    else if (outputs !== undefined && outputs !== null && !isObject(outputs)) props = outputs;
    else {
        let merged: Record<string, unknown>;
        if (!isObject(outputs)) merged = isObject(inputs) ? inputs : {};
        else if (!isObject(inputs)) merged = outputs;
        else merged = { ...outputs, ...inputs };
        if ("__defaults" in merged) {
            // Rebuild rather than `delete` (which would switch the object to slow dictionary mode).
            const copy: Record<string, unknown> = {};
            for (const k in merged) if (k !== "__defaults") copy[k] = merged[k];
            merged = copy;
        }
        props = normalize(merged, secretsProvider);
    }
    const urn = typeof r.urn === "string" ? r.urn : undefined;
    const res: PolicyResource = {
        urn: urn as string,
        type: r.type, // a missing type is reported by the engine, never guessed from the URN
        name: urn ? urnName(urn) : "",
        props: props as Record<string, any>,
    };
    if (typeof r.parent === "string") res.parent = r.parent;
    if (r.dependencies !== undefined) res.dependencies = r.dependencies;
    if (isObject(r.propertyDependencies)) {
        const pd: Record<string, string[]> = {};
        for (const [k, v] of Object.entries(r.propertyDependencies)) pd[k] = Array.isArray(v) ? v.filter((x) => typeof x === "string") : [];
        res.propertyDependencies = pd;
    }
    if (typeof r.provider === "string") res.provider = r.provider;
    if (typeof r.id === "string") res.id = r.id;
    if (typeof r.custom === "boolean") res.custom = r.custom;
    return res;
}

/** Unwraps Pulumi's signature objects (secrets, outputs, resource references) into plain JSON. */
export function normalize(v: unknown, secretsProvider: string): unknown {
    if (v === null || typeof v !== "object") return v;
    if (Array.isArray(v)) {
        let out: unknown[] | undefined;
        for (let i = 0; i < v.length; i++) {
            const n = normalize(v[i], secretsProvider);
            if (n !== v[i]) (out ??= v.slice())[i] = n;
        }
        return out ?? v;
    }
    const o = v as Record<string, unknown>;
    const sig = o[SIG];
    if (sig === SECRET_SIG) return unwrapSecret(o, secretsProvider);
    if (sig === OUTPUT_SIG) return "value" in o ? normalize(o.value, secretsProvider) : UNKNOWN_OBJECT;
    if (sig === RESOURCE_REF_SIG) return typeof o.id === "string" && o.id !== "" ? o.id : o.urn;
    let out: Record<string, unknown> | undefined;
    for (const k in o) {
        const n = normalize(o[k], secretsProvider);
        if (n !== o[k]) (out ??= { ...o })[k] = n;
    }
    return out ?? o;
}

function unwrapSecret(o: Record<string, unknown>, provider: string): unknown {
    try {
        if ("value" in o) return normalize(o.value, provider);
        if (typeof o.plaintext === "string") return normalize(JSON.parse(o.plaintext), provider);
        if (typeof o.ciphertext === "string" && provider === "b64") {
            return normalize(JSON.parse(Buffer.from(o.ciphertext, "base64").toString("utf8")), provider);
        }
    } catch {
        /* fall through: an undecodable secret is an unknown value */
    }
    return UNKNOWN_OBJECT;
}

/** The environment the resources declare through their `byoc:environment` tag (prod wins on a mix). */
export function detectEnvironment(resources: PolicyResource[]): Environment | undefined {
    let dev = false;
    for (const r of resources) {
        const p = r && typeof r === "object" ? r.props : undefined;
        if (!isObject(p)) continue;
        for (const t of [p.tags, p.tagsAll]) {
            if (!isObject(t)) continue;
            const e = t["byoc:environment"];
            if (e === "prod") return "prod";
            if (e === "dev") dev = true;
        }
    }
    return dev ? "dev" : undefined;
}
