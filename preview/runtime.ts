// Runs the real program under Pulumi's mock runtime and records what a `pulumi preview` would see: every
// resource with its type, parent, provider, dependencies, inputs and outputs. The monitor is ours (a subclass
// of the SDK's MockMonitor) because the stock one drops parents and dependencies and cannot route component
// method calls such as eks:index:Cluster/getKubeconfig.
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import * as settings from "@pulumi/pulumi/runtime/settings";
import * as state from "@pulumi/pulumi/runtime/state";
import * as rpc from "@pulumi/pulumi/runtime/rpc";
import * as structproto from "google-protobuf/google/protobuf/struct_pb";
import * as resproto from "@pulumi/pulumi/proto/resource_pb";
import * as provproto from "@pulumi/pulumi/proto/provider_pb";
import { ByocMocks } from "./mocks";

export interface RecordedResource {
    urn: string;
    type: string;
    name: string;
    custom: boolean;
    id?: string;
    parent?: string;
    provider?: string;
    /** Components (remote ones included): the providers passed to them explicitly, package → provider reference. */
    providers?: Record<string, string>;
    dependencies: string[];
    propertyDependencies: Record<string, string[]>;
    inputs: Record<string, any>;
    outputs: Record<string, any>;
    /** The resource's `protect` option (the engine's, as `pulumi stack export` records it). */
    protect?: boolean;
}

export interface ProgramRun {
    project: string;
    stack: string;
    resources: RecordedResource[];
    outputs: Record<string, any>;
    /** Values the mocks made up (ids, ARNs, addresses, hostnames…) → what they stand for; see ByocMocks.invented. */
    invented: ReadonlyMap<string, string>;
}

export class DuplicateUrnError extends Error {
    constructor(readonly urns: string[]) {
        super(`Duplicate resource URN${urns.length > 1 ? "s" : ""}; each resource needs a unique name within its parent:\n${urns.map((u) => `  ${u}`).join("\n")}`);
    }
}

/** Several distinct errors in one run (e.g. two components rejecting their arguments); `errors` in order seen. */
export class ProgramErrors extends Error {
    constructor(readonly errors: unknown[]) {
        super(errors.map((e) => (e instanceof Error ? e.message : String(e))).join("\n"));
        this.name = "ProgramErrors";
    }
}

type Callback = (err: any, resp?: any) => void;

// Internals of the SDK the mock runtime needs; typed here because the SDK marks them @internal.
const sdkState = state as unknown as { getStore(): Record<string, unknown> & { leakCandidates: Set<Promise<unknown>> } };
const sdkSettings = settings as unknown as { waitForRPCs(): Promise<void> };

/**
 * The engine's URN scheme: a child's type is qualified by its parent's type, except under the root stack
 * (the SDK's own mock monitor gets that wrong, which would make offline URNs differ from real ones).
 */
function newUrn(parent: string, type: string, name: string): string {
    const parentType = parent ? parent.split("::")[2] : "";
    const qualified = parentType && parentType !== "pulumi:pulumi:Stack" ? `${parentType}$${type}` : type;
    return `urn:pulumi:${pulumi.getStack()}::${pulumi.getProject()}::${qualified}::${name}`;
}

/** The serialized form of a resource reference (sdk/go/common/resource/sig: ResourceReference). */
const RESOURCE_REFERENCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e";
const SIG_KEY = "4dabf18193072939515e22adb298388d";

/**
 * Resource references (a Role passed to eks.Cluster's serviceRole) as `pulumi stack export` keeps them — the
 * reference with its URN — not the SDK object deserializing made of them, which has no JSON form.
 */
function withResourceReferences(value: any, raw: any): any {
    if (raw && typeof raw === "object" && !Array.isArray(raw)) {
        if (raw[SIG_KEY] === RESOURCE_REFERENCE_SIG) return raw;
        if (value && typeof value === "object" && !Array.isArray(value)) {
            for (const k of Object.keys(value)) value[k] = withResourceReferences(value[k], raw[k]);
        }
    } else if (Array.isArray(raw) && Array.isArray(value)) {
        return value.map((v, i) => withResourceReferences(v, raw[i]));
    }
    return value;
}

function providersOf(req: any): { providers?: Record<string, string> } {
    const map = req.getProvidersMap?.();
    if (!map || map.getLength() === 0) return {};
    return { providers: Object.fromEntries(map.entries()) };
}

class RecordingMonitor extends MockMonitor {
    readonly recorded = new Map<string, RecordedResource>();
    readonly duplicates: string[] = [];
    private readonly seen = new Set<string>();

    constructor(readonly byocMocks: ByocMocks) {
        super(byocMocks);
    }

    async registerResource(req: any, callback: Callback) {
        try {
            const type: string = req.getType();
            const name: string = req.getName();
            const custom: boolean = req.getCustom();
            const inputs = withResourceReferences(rpc.deserializeProperties(req.getObject()), req.getObject().toJavaScript());
            const urn = newUrn(req.getParent(), type, name);
            // Checked and claimed before the first await: registrations interleave.
            if (this.seen.has(urn)) {
                this.duplicates.push(urn);
                throw new Error(`Duplicate resource URN '${urn}'; try giving it a unique name`);
            }
            this.seen.add(urn);
            const result = await this.mocks.newResource({ type, name, inputs, provider: req.getProvider(), custom, id: req.getImportid() });
            const propertyDependencies: Record<string, string[]> = {};
            for (const [key, deps] of req.getPropertydependenciesMap().entries()) {
                if (deps.getUrnsList().length > 0) propertyDependencies[key] = deps.getUrnsList();
            }
            this.recorded.set(urn, {
                urn,
                type,
                name,
                custom,
                id: custom ? result.id ?? "" : undefined,
                parent: req.getParent() || undefined,
                provider: req.getProvider() || undefined,
                ...(custom ? {} : providersOf(req)),
                dependencies: req.getDependenciesList(),
                propertyDependencies,
                inputs,
                outputs: custom ? result.state : {},
                ...(req.getProtect() === true ? { protect: true } : {}),
            });
            const serializedState = await rpc.serializeProperties("", result.state);
            this.resources.set(urn, { urn, id: result.id ?? null, state: serializedState });
            const response = new resproto.RegisterResourceResponse();
            response.setUrn(urn);
            response.setId(result.id || "");
            response.setObject(structproto.Struct.fromJavaScript(serializedState));
            callback(null, response);
        } catch (err) {
            callback(err, undefined);
        }
    }

    registerResourceOutputs(req: any, callback: Callback) {
        const entry = this.recorded.get(req.getUrn());
        if (entry) entry.outputs = rpc.deserializeProperties(req.getOutputs());
        super.registerResourceOutputs(req, callback);
    }

    /** Component methods (e.g. eks:index:Cluster/getKubeconfig) are answered by the mocks' `call`. */
    async call(req: any, callback: Callback) {
        try {
            const result = await this.byocMocks.call({ token: req.getTok(), inputs: rpc.deserializeProperties(req.getArgs()), provider: req.getProvider() });
            const response = new provproto.CallResponse();
            response.setReturn(structproto.Struct.fromJavaScript(await rpc.serializeProperties("", result)));
            callback(null, response);
        } catch (err) {
            callback(err, undefined);
        }
    }
}

export interface RunOptions {
    project?: string;
    stack: string;
    /** Stack config in the engine's text form (`{"aws:region": "us-east-1", "byoc:network": "{...}"}`). */
    config: Record<string, string>;
    region?: string;
}

let running = false;

/** One turn of the event loop: Node reports unhandled rejections only after the microtask queue has drained. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Runs `program` as the body of a stack. Mocks are process-global, so runs are serialized; each run gets a fresh
 * monitor, config and root stack resource.
 *
 * runProgram stands in for the SDK's own runner (`@pulumi/pulumi/cmd/run`), which installs a process-wide
 * `unhandledRejection` handler that logs every error once and fails the run. The SDK leaves rejected promises
 * behind on purpose: when a component throws, the root Stack's outputs derive `isKnown`/`isSecret` promises from
 * the failed body that nobody awaits, and a throwing `apply()` (a resource input, a dangling apply) rejects only
 * promises no one holds. Without a runner those crash the process after the error was reported — or, worse, the
 * run "succeeds" with the resource silently missing. So while the program runs, unhandled rejections are its
 * failures: collected (each error once), they make the run reject.
 */
export async function runProgram(program: () => unknown, opts: RunOptions): Promise<ProgramRun> {
    if (running) throw new Error("runProgram: another program run is in progress in this process");
    running = true;
    const project = opts.project ?? "byoc";
    const mocks = new ByocMocks(opts.region ?? opts.config["aws:region"] ?? "us-east-1");
    const monitor = new RecordingMonitor(mocks);
    const failures: unknown[] = [];
    const fail = (err: unknown) => {
        if (!failures.includes(err)) failures.push(err);
    };
    process.on("unhandledRejection", fail);
    try {
        settings.setMockOptions(monitor, project, opts.stack, false);
        const store = sdkState.getStore();
        Object.assign(store, { supportsSecrets: true, supportsResourceReferences: true, supportsOutputValues: false, supportsDeletedWith: true, supportsAliasSpecs: true });
        pulumi.runtime.setAllConfig(opts.config);
        const outputs = await pulumi.runtime.runInPulumiStack(async () => program()).catch((err) => {
            fail(err);
            return {};
        });
        // Resources created inside apply() callbacks register after the program body returns.
        await sdkSettings.waitForRPCs().catch(fail);
        await nextTurn();
        if (monitor.duplicates.length > 0 || failures.length > 0) {
            // A failed run leaves promises pending forever (the resources whose inputs rejected); they are not leaks
            // the SDK's exit-time detector should report ("N promises were still active") if the process ends well.
            sdkState.getStore().leakCandidates = new Set();
        }
        if (monitor.duplicates.length > 0) throw new DuplicateUrnError(monitor.duplicates);
        if (failures.length > 0) throw failures.length === 1 ? failures[0] : new ProgramErrors(failures);
        return { project, stack: opts.stack, resources: [...monitor.recorded.values()], outputs: (outputs ?? {}) as Record<string, any>, invented: mocks.invented };
    } finally {
        process.off("unhandledRejection", fail);
        running = false;
    }
}
