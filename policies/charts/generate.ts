/**
 * Derives the Helm-values facts the policy pack checks releases against, from the pinned charts' own values files
 * in shared/charts (see its README). Run from the repository root:
 *
 *     node --require ./cli/register.js policies/charts/generate.ts [chartsDir] [--check]
 *
 * chartsDir defaults to ../shared/charts (relative to the repository). `--check` writes nothing and exits 1 when
 * the committed file differs from what would be generated.
 *
 * It writes FACTS only, into policies/charts/values-keys.json: per chart name@version the tree of key paths the
 * chart's values.yaml defines, never the files themselves, their comments or their defaults. Leaves of that tree:
 *
 *   "scalar"    a key whose default is a string/number/boolean: any such value; a map below it sets nothing.
 *   "list"      a key whose default is a list: its items are the user's.
 *   "any"       a key whose default is null (the chart documents its shape in comments only): not checked below.
 *   "free"      a free-form map: any key below it is the user's (see FREE_FORM_* below and `freeForm`).
 *   "unchecked" the subtree of a subchart whose values we do not have: allowed, but NOT checked (`subcharts`).
 *
 * A map node is an object of its children; a map with no known children is always "free".
 *
 * Which maps are free-form (decided here, explicitly):
 *   1. every map whose default is `{}` (the chart passes it through, or documents its keys in comments only);
 *   2. maps with a non-empty default whose key NAME is in FREE_FORM_NAMES (Kubernetes passthroughs and label /
 *      annotation maps, wherever they appear: their defaults are examples or presets, not a closed key set);
 *   3. maps at the exact paths of FREE_FORM_PATHS (the chart renders them as a whole configuration file).
 * Each free-form path is recorded with its reason under `freeForm`, so a reviewer can audit the decision.
 *
 * Chart specifics:
 *   - Istio 1.26 charts keep their defaults under `_internal_defaults_do_not_set`; users set those keys at the top
 *     level, so they are promoted (and `_internal_defaults_do_not_set` itself is not a key to set). Istio's
 *     templates/zzz_profile.yaml also reads `profile`, `compatibilityVersion`, `platform`, `global.profile` and
 *     `global.platform`, which values.yaml does not list: TEMPLATE_KEYS adds them (not derived from the files).
 *   - Subcharts come from Chart.yaml `dependencies`; their values live under the subchart's name. Where shared/charts
 *     holds `<name>-<version>.values.yaml` matching the dependency's version, the subtree is the union of the
 *     subchart's keys and the parent's overrides under that name. Where it does not (kube-prometheus-stack's `crds`,
 *     `grafana`, `prometheus-windows-exporter`), the subtree is "unchecked": any key passes, and `subcharts` says so.
 *   - A chart shipping values.schema.json (cert-manager) is validated with that schema instead of a key tree: the
 *     file keeps a STRIPPED copy of its structure (type, properties, additionalProperties, items, enum, $ref, $defs
 *     only: no descriptions, defaults or examples).
 */
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml } from "yaml";

export type KeyLeaf = "scalar" | "list" | "any" | "free" | "unchecked";
export type KeyNode = KeyLeaf | { [key: string]: KeyNode };

export interface ChartFacts {
    chart: string;
    version: string;
    /** Helm repositories this chart@version is fetched from (the program's pins); another repo is another chart. */
    repos: string[];
    /** Key tree (charts without a JSON schema). */
    keys?: { [key: string]: KeyNode };
    /** Stripped values.schema.json (charts that ship one). */
    schema?: unknown;
    /** Free-form map paths and why. */
    freeForm?: Record<string, string>;
    /** Keys promoted from a defaults wrapper (Istio). */
    promotedFrom?: string;
    /** Keys known from the chart's templates, not its values.yaml. */
    templateKeys?: string[];
    /** Subcharts (Chart.yaml dependencies): checked against their values file, or unchecked. */
    subcharts?: Record<string, { version: string; checked: boolean; note: string }>;
}

export interface ValuesFacts {
    note: string;
    charts: Record<string, ChartFacts>;
}

/** The charts the program pins: folder in shared/charts → chart identity. Folder names are not chart names (`base`). */
export const CHART_FOLDERS: Record<string, { chart: string; version: string; repos: string[] }> = {
    "aws-load-balancer-controller-1.13.3": { chart: "aws-load-balancer-controller", version: "1.13.3", repos: ["https://aws.github.io/eks-charts"] },
    "istio-base-1.26.2": { chart: "base", version: "1.26.2", repos: ["https://istio-release.storage.googleapis.com/charts"] },
    "istiod-1.26.2": { chart: "istiod", version: "1.26.2", repos: ["https://istio-release.storage.googleapis.com/charts"] },
    "cert-manager-v1.18.2": { chart: "cert-manager", version: "v1.18.2", repos: ["https://charts.jetstack.io"] },
    "kube-prometheus-stack-67.8.0": {
        chart: "kube-prometheus-stack",
        version: "67.8.0",
        repos: ["https://prometheus-community.github.io/helm-charts"],
    },
};

/** Rule 2: key names whose map is free-form wherever a chart defines it with a non-empty default. */
export const FREE_FORM_NAMES: ReadonlySet<string> = new Set([
    // labels and annotations: every key is the user's
    "annotations",
    "labels",
    "podAnnotations",
    "podLabels",
    "additionalLabels",
    "commonLabels",
    "customLabels",
    "extraLabels",
    "deploymentAnnotations",
    "deploymentLabels",
    "serviceAnnotations",
    "serviceLabels",
    "serviceAccountAnnotations",
    "jobAnnotations",
    // Kubernetes objects passed through as they are
    "nodeSelector",
    "affinity",
    "tolerations",
    "resources",
    "securityContext",
    "podSecurityContext",
    "containerSecurityContext",
    "seccompProfile",
    "strategy",
    "updateStrategy",
    // process arguments / environment maps
    "extraArgs",
    "extraEnv",
    "env",
]);

/** Rule 3: exact paths (per chart) of maps the chart renders whole. */
export const FREE_FORM_PATHS: Record<string, Record<string, string>> = {
    istiod: { meshConfig: "Istio MeshConfig API, rendered into the mesh ConfigMap as given" },
    "kube-prometheus-stack": { "alertmanager.config": "Alertmanager configuration file, rendered as given" },
};

/** Keys a chart's templates read that its values.yaml does not list (see the header). */
export const TEMPLATE_KEYS: Record<string, string[]> = {
    base: ["profile", "compatibilityVersion", "platform", "global.profile", "global.platform"],
    istiod: ["profile", "compatibilityVersion", "platform", "global.profile", "global.platform"],
};

/** The wrapper Istio 1.26 keeps its defaults under. */
export const ISTIO_DEFAULTS = "_internal_defaults_do_not_set";

/** JSON Schema keywords kept in the stripped copy. */
const SCHEMA_KEYWORDS = new Set(["type", "properties", "additionalProperties", "items", "enum", "$ref", "$defs"]);

type Plain = Record<string, unknown>;
const isMap = (v: unknown): v is Plain => v !== null && typeof v === "object" && !Array.isArray(v);

function readYaml(file: string): unknown {
    // Helm reads values as YAML 1.1 (merge keys allowed); keys are all we take.
    return parseYaml(fs.readFileSync(file, "utf8"), { version: "1.1", merge: true });
}

function joinPath(prefix: string, key: string): string {
    return prefix === "" ? key : `${prefix}.${key}`;
}

/** Key tree of one values document. `freeForm` collects free-form paths (relative to the chart root). */
function keyTree(v: unknown, at: string, chart: string, freeForm: Record<string, string>): KeyNode {
    if (v === null || v === undefined) return "any";
    if (Array.isArray(v)) return "list";
    if (!isMap(v)) return "scalar";
    const key = at.split(".").pop() ?? "";
    const byPath = FREE_FORM_PATHS[chart]?.[at];
    if (byPath) {
        freeForm[at] = byPath;
        return "free";
    }
    if (Object.keys(v).length === 0) {
        freeForm[at] = "empty-map default";
        return "free";
    }
    if (FREE_FORM_NAMES.has(key)) {
        freeForm[at] = `free-form by name (${key})`;
        return "free";
    }
    const out: { [k: string]: KeyNode } = {};
    for (const k of Object.keys(v).sort()) out[k] = keyTree(v[k], joinPath(at, k), chart, freeForm);
    return out;
}

/** Union of two trees (parent overrides ∪ subchart values): the more permissive leaf wins. */
function mergeTrees(a: KeyNode | undefined, b: KeyNode | undefined): KeyNode {
    if (a === undefined) return b ?? "any";
    if (b === undefined) return a;
    const rank: Record<KeyLeaf, number> = { unchecked: 4, free: 3, any: 2, list: 1, scalar: 1 };
    if (typeof a === "string" && typeof b === "string") return a === b ? a : rank[a] >= rank[b] && rank[a] > 1 ? a : rank[b] > 1 ? b : "any";
    if (typeof a === "string") return rank[a] > 1 ? a : b; // a map beats a scalar/list preset
    if (typeof b === "string") return rank[b] > 1 ? b : a;
    const out: { [k: string]: KeyNode } = {};
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) out[k] = mergeTrees(a[k], b[k]);
    return out;
}

function sortTree(n: KeyNode): KeyNode {
    if (typeof n === "string") return n;
    const out: { [k: string]: KeyNode } = {};
    for (const k of Object.keys(n).sort()) out[k] = sortTree(n[k]);
    return out;
}

function sortRecord<T>(r: Record<string, T>): Record<string, T> {
    const out: Record<string, T> = {};
    for (const k of Object.keys(r).sort()) out[k] = r[k];
    return out;
}

/** Adds a dotted key path as a scalar unless something is there already. */
function addKey(tree: { [k: string]: KeyNode }, dotted: string): void {
    const parts = dotted.split(".");
    let cur: { [k: string]: KeyNode } = tree;
    for (const [i, p] of parts.entries()) {
        const last = i === parts.length - 1;
        const node = cur[p];
        if (last) {
            if (node === undefined) cur[p] = "scalar";
            return;
        }
        if (node === undefined) cur[p] = {};
        else if (typeof node === "string") return; // already permissive or a scalar: leave it
        cur = cur[p] as { [k: string]: KeyNode };
    }
}

/** The structure of a JSON Schema, without descriptions, defaults or any other annotation. */
export function stripSchema(s: unknown): unknown {
    if (Array.isArray(s)) return s.map(stripSchema);
    if (!isMap(s)) return s;
    const out: Plain = {};
    for (const k of Object.keys(s).sort()) {
        if (!SCHEMA_KEYWORDS.has(k)) continue;
        const v = s[k];
        if (k === "properties" || k === "$defs") {
            if (!isMap(v)) continue;
            const m: Plain = {};
            for (const name of Object.keys(v).sort()) m[name] = stripSchema(v[name]);
            out[k] = m;
        } else if (k === "items" || k === "additionalProperties") {
            out[k] = typeof v === "boolean" ? v : stripSchema(v);
        } else if (k === "enum") {
            out[k] = Array.isArray(v) ? v : [v];
        } else {
            out[k] = v; // type, $ref
        }
    }
    return out;
}

/** The version of a `<name>-<version>.values.yaml` file next to a parent chart that satisfies `range` ("5.28.*"). */
function findSubchartValues(dir: string, name: string, range: string): { file: string; version: string } | undefined {
    const re = new RegExp(`^${range.replace(/[.+^$()|[\]\\]/g, "\\$&").replace(/\*/g, "[0-9A-Za-z.-]+")}$`);
    for (const f of fs.readdirSync(dir).sort()) {
        const m = new RegExp(`^${name.replace(/[.+^$()|[\]\\]/g, "\\$&")}-(v?\\d[^/]*)\\.values\\.yaml$`).exec(f);
        if (m && re.test(m[1])) return { file: path.join(dir, f), version: m[1] };
    }
    return undefined;
}

function chartFacts(dir: string, id: { chart: string; version: string; repos: string[] }): ChartFacts {
    const facts: ChartFacts = { chart: id.chart, version: id.version, repos: id.repos };
    const chartYaml = path.join(dir, "Chart.yaml");
    const meta = fs.existsSync(chartYaml) ? (readYaml(chartYaml) as Plain) : undefined;
    if (meta && (meta.name !== id.chart || String(meta.version) !== id.version)) {
        throw new Error(`${chartYaml}: is ${String(meta.name)} ${String(meta.version)}, expected ${id.chart} ${id.version}`);
    }

    const schemaFile = path.join(dir, "values.schema.json");
    if (fs.existsSync(schemaFile)) {
        facts.schema = stripSchema(JSON.parse(fs.readFileSync(schemaFile, "utf8")));
        return facts;
    }

    let values = readYaml(path.join(dir, "values.yaml"));
    if (!isMap(values)) values = {};
    let doc = values as Plain;
    if (isMap(doc[ISTIO_DEFAULTS])) {
        const { [ISTIO_DEFAULTS]: defaults, ...rest } = doc;
        doc = { ...(defaults as Plain), ...rest };
        facts.promotedFrom = ISTIO_DEFAULTS;
    }

    const freeForm: Record<string, string> = {};
    const tree = keyTree(doc, "", id.chart, freeForm);
    const keys: { [k: string]: KeyNode } = typeof tree === "string" ? {} : tree;
    for (const p of Object.keys(freeForm)) if (p === "") delete freeForm[p];

    const deps = Array.isArray(meta?.dependencies) ? (meta!.dependencies as Plain[]) : [];
    if (deps.length > 0) facts.subcharts = {};
    for (const dep of deps) {
        const name = String(dep.name);
        const alias = typeof dep.alias === "string" ? dep.alias : name;
        const range = String(dep.version ?? "*");
        const found = findSubchartValues(dir, name, range);
        // Drop free-form entries recorded inside the parent's overrides; they are recomputed below.
        for (const p of Object.keys(freeForm)) if (p === alias || p.startsWith(`${alias}.`)) delete freeForm[p];
        if (found) {
            const subFree: Record<string, string> = {};
            const sub = keyTree(readYaml(found.file), "", name, subFree);
            const parentFree: Record<string, string> = {};
            const parent = keyTree(doc[alias] ?? {}, "", name, parentFree);
            keys[alias] = mergeTrees(parent === "free" ? undefined : parent, sub === "free" ? undefined : sub);
            for (const [p, why] of Object.entries({ ...parentFree, ...subFree })) if (p !== "") freeForm[`${alias}.${p}`] = why;
            facts.subcharts![alias] = { version: found.version, checked: true, note: `checked against ${name} ${found.version} values plus the parent's overrides` };
        } else {
            keys[alias] = "unchecked";
            facts.subcharts![alias] = { version: range, checked: false, note: "values not in shared/charts: any key below is allowed, not checked" };
        }
    }
    // Helm passes `global` to every chart; it is only a key where a chart reads it, so it is not added here.

    for (const k of TEMPLATE_KEYS[id.chart] ?? []) addKey(keys, k);
    if (TEMPLATE_KEYS[id.chart]) facts.templateKeys = TEMPLATE_KEYS[id.chart];

    facts.keys = sortTree(keys) as { [k: string]: KeyNode };
    // Only keep free-form paths that are still free-form leaves of the final tree.
    const leafAt = (p: string): KeyNode | undefined => {
        let cur: KeyNode | undefined = facts.keys;
        for (const seg of p.split(".")) cur = typeof cur === "object" ? cur[seg] : undefined;
        return cur;
    };
    facts.freeForm = sortRecord(Object.fromEntries(Object.entries(freeForm).filter(([p]) => leafAt(p) === "free")));
    if (facts.subcharts) facts.subcharts = sortRecord(facts.subcharts);
    return facts;
}

/** Generated file name → content. Pure apart from reading `chartsDir`. */
export function generate(chartsDir: string): Record<string, string> {
    const facts: ValuesFacts = {
        note: "Generated by policies/charts/generate.ts from the pinned charts' values files (shared/charts); facts only. Do not edit.",
        charts: {},
    };
    const folders = fs
        .readdirSync(chartsDir, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => d.name)
        .sort();
    for (const folder of folders) {
        const id = CHART_FOLDERS[folder];
        if (!id) {
            process.emitWarning(`${folder}: not in CHART_FOLDERS (policies/charts/generate.ts); skipped`);
            continue;
        }
        const f = chartFacts(path.join(chartsDir, folder), id);
        facts.charts[`${f.chart}@${f.version}`] = f;
    }
    for (const folder of Object.keys(CHART_FOLDERS)) if (!folders.includes(folder)) throw new Error(`${chartsDir}: no ${folder}/`);
    return { "values-keys.json": `${JSON.stringify(facts, null, 1)}\n` };
}

function main(argv: string[]): number {
    const check = argv.includes("--check");
    const args = argv.filter((a) => a !== "--check");
    const repo = path.resolve(__dirname, "..", "..");
    const chartsDir = path.resolve(repo, args[0] ?? "../shared/charts");
    const files = generate(chartsDir);
    let stale = 0;
    for (const [name, text] of Object.entries(files)) {
        const out = path.join(__dirname, name);
        const now = fs.existsSync(out) ? fs.readFileSync(out, "utf8") : undefined;
        if (now === text) continue;
        stale++;
        if (check) console.error(`${path.relative(repo, out)} is out of date`);
        else {
            fs.writeFileSync(out, text);
            console.log(`wrote ${path.relative(repo, out)}`);
        }
    }
    if (stale === 0) console.log("policies/charts: up to date");
    return check && stale > 0 ? 1 : 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
