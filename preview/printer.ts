// Human output of the offline preview: the resource tree, counts per type, policy results and the flow table.
// Values the mocks made up (ProgramRun.invented) are marked "(mock)" wherever they are printed, so an id, address
// or hostname that only exists offline is never mistaken for a fact the program computed.
import type { RecordedResource } from "./runtime";
import type { ResolvedFlow } from "../components/flows";
import type { PolicyReport } from "../policies/engine";

/** The resource tree in registration order: `├─` for a child with siblings after it, `└─` for the last, `│` continuing. */
export function formatTree(resources: RecordedResource[]): string {
    const children = new Map<string | undefined, RecordedResource[]>();
    const urns = new Set(resources.map((r) => r.urn));
    for (const r of resources) {
        const parent = r.parent && urns.has(r.parent) ? r.parent : undefined;
        let list = children.get(parent);
        if (!list) children.set(parent, (list = []));
        list.push(r);
    }
    const lines: string[] = [];
    const walk = (parent: string, indent: string) => {
        const kids = children.get(parent) ?? [];
        kids.forEach((r, i) => {
            const last = i === kids.length - 1;
            lines.push(`${indent}${last ? "└─ " : "├─ "}${r.type}  ${r.name}`);
            walk(r.urn, indent + (last ? "   " : "│  "));
        });
    };
    for (const root of children.get(undefined) ?? []) {
        lines.push(`${root.type}  ${root.name}`);
        walk(root.urn, "");
    }
    return lines.join("\n");
}

export function formatCounts(resources: RecordedResource[]): string {
    const counts = new Map<string, number>();
    for (const r of resources) counts.set(r.type, (counts.get(r.type) ?? 0) + 1);
    const rows = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    const width = String(resources.length).length;
    return [...rows.map(([type, n]) => `${String(n).padStart(width)}  ${type}`), `${String(resources.length).padStart(width)}  total`].join("\n");
}

export function formatPolicy(report: PolicyReport): string {
    const lines = report.violations.map((v) => `  [${v.enforcementLevel}] ${v.policy}${v.urn ? `  ${v.urn}` : ""}\n      ${v.message}`);
    for (const e of report.errors) lines.push(`  [error] ${e.urn ?? `resource #${e.index}`}: ${e.message}`);
    const summary = `${report.policyCount} policies (${report.environment}) over ${report.checkedResources} resources: ` +
        `${report.mandatoryCount} mandatory, ${report.advisoryCount} advisory violation${report.advisoryCount === 1 ? "" : "s"}`;
    return [summary, ...lines].join("\n");
}

// ------------------------------------------------------------------------------------------------
// Mock marking
// ------------------------------------------------------------------------------------------------

export const MOCK_MARK = "(mock)";
export const MOCK_LEGEND = `${MOCK_MARK}: made up by the offline preview's mocks; \`pulumi up\` gets the real ids, ARNs, addresses and names`;

/** Characters that continue an identifier: an invented value counts only where it stands alone (not inside a longer ARN). */
const WORD = /[A-Za-z0-9_:/@*-]/;

/** A made-up id reads as its kind only ("vpce-…"): its digits mean nothing and must not be copied anywhere. */
function shorten(value: string): string {
    const m = /^([a-z]+-)[0-9a-f]{8,}$/.exec(value);
    return m ? `${m[1]}…` : value;
}

/**
 * `text` with every invented value that stands alone in it followed by " (mock)" (made-up ids shortened to their
 * kind, `vpce-…`). `marked` tells whether anything was; callers print MOCK_LEGEND once when so.
 */
export function markInvented(text: string, invented: ReadonlyMap<string, string> | undefined): { text: string; marked: boolean } {
    if (!invented || invented.size === 0 || text.length === 0) return { text, marked: false };
    // Longest first, so an address inside an invented hostname does not win over the hostname.
    const hits: { at: number; end: number; value: string }[] = [];
    for (const value of invented.keys()) {
        for (let at = text.indexOf(value); at >= 0; at = text.indexOf(value, at + 1)) {
            const end = at + value.length;
            const before = text[at - 1];
            const after = text[end];
            if (before !== undefined && (WORD.test(before) || before === ".")) continue;
            if (after !== undefined && (WORD.test(after) || (after === "." && WORD.test(text[end + 1] ?? "")))) continue;
            hits.push({ at, end, value });
        }
    }
    if (hits.length === 0) return { text, marked: false };
    hits.sort((a, b) => a.at - b.at || b.end - a.end);
    let out = "";
    let pos = 0;
    for (const h of hits) {
        if (h.at < pos) continue; // inside a longer hit
        out += `${text.slice(pos, h.at)}${shorten(h.value)} ${MOCK_MARK}`;
        pos = h.end;
    }
    return { text: out + text.slice(pos), marked: true };
}

// ------------------------------------------------------------------------------------------------
// Flow table
// ------------------------------------------------------------------------------------------------

/** Wraps `text` at spaces into lines of at most `width` (a longer word is split). */
export function wrap(text: string, width: number): string[] {
    const lines: string[] = [];
    let line = "";
    for (let word of text.split(/ +/)) {
        while (word.length > width) {
            if (line) lines.push(line);
            lines.push(word.slice(0, width));
            word = word.slice(width);
            line = "";
        }
        if (!line) line = word;
        else if (line.length + 1 + word.length <= width) line += ` ${word}`;
        else {
            lines.push(line);
            line = word;
        }
    }
    if (line || lines.length === 0) lines.push(line);
    return lines;
}

export interface FlowTableOptions {
    /** Total width; the last column takes what the others leave and wraps (default 120). */
    width?: number;
    invented?: ReadonlyMap<string, string>;
}

/** Widest the first three columns get before they wrap too; the last column keeps at least LAST_MIN. */
const CAPS = [34, 16, 10];
const LAST_MIN = 40;
const GAP = "  ";

/** The flow table of DESIGN.md §2 in `width` columns; rows that wrap are separated by a blank line. */
export function formatFlows(flows: ResolvedFlow[], opts: FlowTableOptions = {}): { text: string; marked: boolean } {
    const width = opts.width ?? 120;
    let marked = false;
    const header = ["Flow", "Direction", "Exposure", "Restricted by"];
    const rows = flows.map((f) =>
        [f.flow, f.direction, f.exposure, f.restrictedBy].map((cell) => {
            const m = markInvented(cell, opts.invented);
            marked ||= m.marked;
            return m.text;
        }),
    );
    const natural = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const widths = natural.slice(0, 3).map((w, i) => Math.min(w, CAPS[i]));
    const last = Math.max(LAST_MIN, width - widths.reduce((a, b) => a + b, 0) - GAP.length * 3);
    widths.push(Math.min(natural[3], last));
    const render = (cells: string[]): string[] => {
        const wrapped = cells.map((c, i) => wrap(c, widths[i]));
        const height = Math.max(...wrapped.map((w) => w.length));
        const out: string[] = [];
        for (let l = 0; l < height; l++) out.push(wrapped.map((w, i) => (w[l] ?? "").padEnd(widths[i])).join(GAP).trimEnd());
        return out;
    };
    const body = rows.map(render);
    const spaced = body.some((b) => b.length > 1);
    const lines = [...render(header), widths.map((w) => "-".repeat(w)).join(GAP)];
    body.forEach((b, i) => lines.push(...(spaced && i > 0 ? ["", ...b] : b)));
    return { text: lines.join("\n"), marked };
}

/** The operatorActions stack output: steps outside Pulumi, numbered, wrapped to `width` with a hanging indent. */
export function formatActions(actions: string[], invented?: ReadonlyMap<string, string>, width = 120): { text: string; marked: boolean } {
    if (actions.length === 0) return { text: "  (none)", marked: false };
    let marked = false;
    const pad = `  ${actions.length}. `.length;
    const text = actions
        .map((a, i) => {
            const m = markInvented(a, invented);
            marked ||= m.marked;
            const [first, ...rest] = wrap(m.text, Math.max(40, width - pad));
            return [`${`  ${i + 1}. `.padEnd(pad)}${first}`, ...rest.map((l) => `${" ".repeat(pad)}${l}`)].join("\n");
        })
        .join("\n");
    return { text, marked };
}
