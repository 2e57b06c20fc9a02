// The offline run written in `pulumi stack export` shape, so `byoc policy check`, the portal and anyone's
// tooling for real exports read it the same way.
import { ProgramRun, RecordedResource } from "./runtime";

export interface ExportedResource {
    urn: string;
    custom: boolean;
    id?: string;
    type: string;
    parent?: string;
    provider?: string;
    inputs: Record<string, any>;
    outputs: Record<string, any>;
    dependencies: string[];
    propertyDependencies?: Record<string, string[]>;
    /** As `pulumi stack export` writes it: present (true) only on protected resources. */
    protect?: boolean;
}

export interface StackExport {
    version: 3;
    deployment: {
        manifest: { time: string; magic: string; version: string };
        secrets_providers?: unknown;
        resources: ExportedResource[];
    };
}

const SDK_VERSION: string = require("@pulumi/pulumi/package.json").version;

export function toStackExport(run: ProgramRun, time = new Date()): StackExport {
    return {
        version: 3,
        deployment: {
            manifest: { time: time.toISOString(), magic: "", version: `v${SDK_VERSION} (byoc offline preview)` },
            resources: run.resources.map(exportResource),
        },
    };
}

function exportResource(r: RecordedResource): ExportedResource {
    const out: ExportedResource = { urn: r.urn, custom: r.custom, type: r.type, inputs: r.inputs, outputs: r.outputs, dependencies: r.dependencies };
    if (r.custom) out.id = r.id;
    if (r.parent) out.parent = r.parent;
    if (r.provider) out.provider = r.provider;
    if (r.protect) out.protect = true;
    if (Object.keys(r.propertyDependencies).length > 0) out.propertyDependencies = r.propertyDependencies;
    return out;
}
