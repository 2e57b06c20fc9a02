// Network flows as components declare them (DESIGN.md §2). Each component lists the flows it opens, derived
// from its own arguments; index.ts exports them as the `networkFlows` stack output, which the offline preview
// and the portal print. So the table is what the program builds, not a document beside it.
import * as pulumi from "@pulumi/pulumi";

export type FlowDirection = "inbound" | "outbound" | "inbound over an outbound tunnel";
export type FlowExposure = "public" | "private";

export interface NetworkFlow {
    flow: string;
    direction: FlowDirection;
    exposure: FlowExposure;
    restrictedBy: pulumi.Input<string>;
    /** The component that declared the flow. */
    component: string;
}

export interface ResolvedFlow extends Omit<NetworkFlow, "restrictedBy"> {
    restrictedBy: string;
}

/** Renders flows as the fixed-width table of DESIGN.md §2. */
export function formatFlowTable(flows: ResolvedFlow[]): string {
    const header = ["Flow", "Direction", "Exposure", "Restricted by"];
    const rows = flows.map((f) => [f.flow, f.direction, f.exposure, f.restrictedBy]);
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
    return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
