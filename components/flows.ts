// Network flows as components declare them (DESIGN.md §2). Each component lists the flows it opens, derived
// from its own arguments; index.ts exports them as the `networkFlows` stack output, which the offline preview
// and the portal print (preview/printer.ts renders the table). So the table is what the program builds, not a
// document beside it.
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
