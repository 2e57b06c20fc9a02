// Human output of the offline preview: the resource tree, counts per type, policy results and the flow table.
import { RecordedResource } from "./runtime";
import type { ResolvedFlow } from "../components/flows";
import type { PolicyReport } from "../policies/engine";

/** The resource tree, children indented under their parent, in registration order. */
export function formatTree(resources: RecordedResource[]): string {
    const children = new Map<string | undefined, RecordedResource[]>();
    const urns = new Set(resources.map((r) => r.urn));
    for (const r of resources) {
        const parent = r.parent && urns.has(r.parent) ? r.parent : undefined;
        children.set(parent, [...(children.get(parent) ?? []), r]);
    }
    const lines: string[] = [];
    const walk = (parent: string | undefined, depth: number) => {
        for (const r of children.get(parent) ?? []) {
            lines.push(`${"  ".repeat(depth)}${depth > 0 ? "└─ " : ""}${r.type}  ${r.name}`);
            walk(r.urn, depth + 1);
        }
    };
    walk(undefined, 0);
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

/** The flow table of DESIGN.md §2, fixed-width. */
export function formatFlows(flows: ResolvedFlow[]): string {
    const header = ["Flow", "Direction", "Exposure", "Restricted by"];
    const rows = flows.map((f) => [f.flow, f.direction, f.exposure, f.restrictedBy]);
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
    return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/** The operatorActions stack output: steps outside Pulumi, numbered. */
export function formatActions(actions: string[]): string {
    return actions.length === 0 ? "  (none)" : actions.map((a, i) => `  ${i + 1}. ${a}`).join("\n");
}
