/**
 * The policy pack under its real runtime, driven the way Pulumi CLI 3.248.0 drives it.
 *
 * Launch (pulumi-language-nodejs `RunPlugin`, kind analyzer): `node <@pulumi/pulumi/cmd/run-policy-pack resolved from
 * the pack directory> <engine address> <pack directory>`, working directory = the pack directory, environment = the
 * CLI's plus PULUMI_NODEJS_TYPESCRIPT and the PULUMI_NODEJS_{ORGANIZATION,PROJECT,STACK,DRY_RUN}/PULUMI_CONFIG the
 * language host's PolicyProxy learnt from ConfigureStack. run-policy-pack registers ts-node with `typeCheck: true`
 * (the project's typescript; ts-node itself is the copy vendored in @pulumi/pulumi, 7.0.1, because the project has
 * none), loads the pack, and the pack prints the port it listens on. The proxy answers Handshake itself and forwards
 * ConfigureStack, so the pack sees: ConfigureStack, GetAnalyzerInfo, Configure (the CLI's ReconcilePolicyPackConfig of
 * the --policy-pack-config file), GetPluginInfo, then per resource Remediate + Analyze and one AnalyzeStack.
 *
 * Marshalling follows the CLI's own path for a saved state (`pulumi policy analyze`, pkg/resource/deploy/
 * analyze_snapshot.go): the JSON state is read like stack.DeserializePropertyValue and sent like
 * plugin.MarshalProperties{KeepUnknowns, KeepSecrets, SkipInternalKeys} — Analyze gets a resource's inputs,
 * AnalyzeStack its outputs; resource references become their id (unknown id → unknown, component → URN), secrets
 * travel as secret values (the pack unwraps them), nulls are kept, top-level `__` keys dropped, the provider is the
 * provider resource's inputs.
 */
import { ChildProcess, spawn } from "child_process";
import * as path from "path";
import * as grpc from "@grpc/grpc-js";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import * as rpc from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import * as pb from "@pulumi/pulumi/proto/analyzer_pb";
import type { PluginInfo } from "@pulumi/pulumi/proto/plugin_pb";
// Pulumi's wire constants as the pack reads them; UNKNOWN_OBJECT is what the engine's snapshot reader (and so this
// marshaller) puts where a secret cannot be decrypted.
import { SKIPPED_OPS } from "../../policies/snapshot";
import { SECRET_SIG, SIG, UNKNOWN_OBJECT, urnName } from "../../policies/rules/util";

export type Level = "advisory" | "mandatory" | "remediate" | "disabled";

const RESOURCE_REF_SIG = "5cf8f73096256a8f31e491e813e4eb8e";
const OUTPUT_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4";
const FLOAT_SIG = "8ad145fe-0d11-4827-bfd7-1abcbf086f5c";
/** plugin.UnknownStringValue: what MarshalPropertyValue sends for a computed value read from JSON. */
export const UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

const LEVEL_TO_PB: Record<Level, pb.EnforcementLevel> = {
    advisory: pb.EnforcementLevel.ADVISORY,
    mandatory: pb.EnforcementLevel.MANDATORY,
    remediate: pb.EnforcementLevel.REMEDIATE,
    disabled: pb.EnforcementLevel.DISABLED,
};
const PB_TO_LEVEL = new Map<number, Level>(Object.entries(LEVEL_TO_PB).map(([k, v]) => [v, k as Level]));

// ------------------------------------------------------------------------------------------------
// The JSON document as the CLI reads it
// ------------------------------------------------------------------------------------------------

/** One resource state (apitype.ResourceV3), as it appears in a stack export / checkpoint / preview step. */
export interface StateJson {
    urn: string;
    type: string;
    custom?: boolean;
    id?: string;
    parent?: string;
    provider?: string;
    inputs?: Record<string, unknown>;
    outputs?: Record<string, unknown>;
    dependencies?: string[];
    propertyDependencies?: Record<string, string[]>;
    protect?: boolean;
    ignoreChanges?: string[];
    additionalSecretOutputs?: string[];
    aliases?: string[];
    customTimeouts?: { create?: number; update?: number; delete?: number; read?: number };
    delete?: boolean;
}

export interface CliDocument {
    states: StateJson[];
    /** `secrets_providers.type` of the deployment ("b64" secrets can be decrypted here, others cannot). */
    secretsProvider: string;
}

function isObj(v: unknown): v is Record<string, any> {
    return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * The states of a stack export, old checkpoint, or `pulumi preview --json` (each step's newState; delete-type steps
 * skipped, last step per URN wins) — only well-formed entries: the CLI rejects a state it cannot parse outright.
 */
export function cliDocument(doc: unknown): CliDocument {
    const d = doc as Record<string, any>;
    let list: unknown[] = [];
    let secretsProvider = "";
    if (Array.isArray(d.steps)) {
        const byUrn = new Map<string, StateJson>();
        for (const s of d.steps) {
            if (!isObj(s) || SKIPPED_OPS.has(String(s.op)) || !isObj(s.newState)) continue;
            byUrn.set(String(s.urn ?? s.newState.urn), { urn: s.urn, ...s.newState } as StateJson);
        }
        list = [...byUrn.values()];
    } else if (isObj(d.deployment)) {
        list = d.deployment.resources ?? [];
        secretsProvider = String(d.deployment.secrets_providers?.type ?? "");
    } else if (isObj(d.checkpoint)) {
        list = d.checkpoint.latest?.resources ?? [];
        secretsProvider = String(d.checkpoint.latest?.secrets_providers?.type ?? "");
    }
    const seen = new Set<string>();
    const states: StateJson[] = [];
    for (const r of list) {
        if (!isObj(r) || typeof r.urn !== "string" || r.urn === "" || typeof r.type !== "string" || r.type === "" || seen.has(r.urn)) continue;
        if ((r.inputs !== undefined && !isObj(r.inputs)) || (r.outputs !== undefined && !isObj(r.outputs))) continue;
        if (r.dependencies !== undefined && !Array.isArray(r.dependencies)) continue;
        if (r.delete === true) continue; // AnalyzeSnapshot skips resources pending deletion
        seen.add(r.urn);
        states.push(r as StateJson);
    }
    return { states, secretsProvider };
}

/**
 * A JSON state value → the JavaScript value whose `Struct.fromJavaScript` is what plugin.MarshalPropertyValue puts
 * on the wire (MarshalOptions{KeepUnknowns: true, KeepSecrets: true}; resources and output values not kept).
 */
export function marshalValue(v: unknown, secretsProvider: string): unknown {
    if (v === null || typeof v !== "object") return v; // null stays null (SkipNulls is false); the computed placeholder is UnknownStringValue already
    if (Array.isArray(v)) return v.map((e) => marshalValue(e, secretsProvider));
    const o = v as Record<string, unknown>;
    switch (o[SIG]) {
        case undefined:
            break;
        case SECRET_SIG:
            return { [SIG]: SECRET_SIG, value: marshalValue(decrypt(o, secretsProvider), secretsProvider) };
        case RESOURCE_REF_SIG: {
            // Custom resource reference: its ID (an empty ID is a computed one); component reference: its URN.
            const id = o.id;
            if (typeof id === "string") return id === "" ? UNKNOWN_STRING : id;
            if (isObj(id)) return typeof id.V === "string" ? id.V : isObj(id.V) ? UNKNOWN_STRING : o.urn;
            return o.urn;
        }
        case FLOAT_SIG:
            return new Float64Array(new BigUint64Array([BigInt(`0x${o.value}`)]).buffer)[0];
        case OUTPUT_SIG: {
            // The CLI's state reader rejects this signature; it is what an in-memory output value marshals to.
            const known = "value" in o;
            const inner = known ? marshalValue(o.value, secretsProvider) : UNKNOWN_STRING;
            return o.secret === true ? { [SIG]: SECRET_SIG, value: inner } : inner;
        }
        default:
            return o; // assets and archives travel as they are (the pack turns them into asset objects)
    }
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(o)) out[k] = marshalValue(o[k], secretsProvider);
    return out;
}

function decrypt(o: Record<string, unknown>, provider: string): unknown {
    try {
        if ("value" in o) return o.value;
        if (typeof o.plaintext === "string") return JSON.parse(o.plaintext);
        if (typeof o.ciphertext === "string" && provider === "b64") return JSON.parse(Buffer.from(o.ciphertext, "base64").toString("utf8"));
    } catch {
        /* fall through */
    }
    // The real CLI decrypts with the stack's secrets manager (or refuses the state); here, like the engine, unknown.
    return UNKNOWN_OBJECT;
}

/** plugin.MarshalProperties: a property map, top-level internal (`__`) keys skipped. */
export function marshalProperties(props: Record<string, unknown> | undefined, secretsProvider: string): Struct {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(props ?? {})) {
        if (k.startsWith("__")) continue;
        out[k] = marshalValue(v, secretsProvider);
    }
    return Struct.fromJavaScript(out as Record<string, any>);
}

function options(s: StateJson): pb.AnalyzerResourceOptions {
    const o = new pb.AnalyzerResourceOptions();
    o.setProtect(s.protect === true);
    o.setIgnorechangesList(s.ignoreChanges ?? []);
    o.setAdditionalsecretoutputsList(s.additionalSecretOutputs ?? []);
    o.setAliasesList(s.aliases ?? []);
    const t = new pb.AnalyzerResourceOptions.CustomTimeouts();
    t.setCreate(s.customTimeouts?.create ?? 0);
    t.setUpdate(s.customTimeouts?.update ?? 0);
    t.setDelete(s.customTimeouts?.delete ?? 0);
    t.setRead(s.customTimeouts?.read ?? 0);
    o.setCustomtimeouts(t);
    if (s.parent) o.setParent(s.parent);
    return o;
}

/** `<provider URN>::<provider ID>` → the provider resource of the document (inputs as properties), if there. */
function providerOf(s: StateJson, doc: CliDocument, providers: Map<string, StateJson>): pb.AnalyzerProviderResource | undefined {
    if (!s.provider) return undefined;
    const i = s.provider.lastIndexOf("::");
    const p = providers.get(i > 0 ? s.provider.slice(0, i) : s.provider);
    if (!p) return undefined; // stateToAnalyzerResource: a provider missing from the snapshot is simply not sent
    const pr = new pb.AnalyzerProviderResource();
    pr.setUrn(p.urn);
    pr.setType(p.type);
    pr.setName(urnName(p.urn));
    pr.setProperties(marshalProperties(p.inputs, doc.secretsProvider));
    return pr;
}

/**
 * AnalyzeStack receives outputs. A custom resource's outputs hold its inputs too (the bridged providers and the
 * Kubernetes provider write every input back into the state; a preview's Create returns the inputs plus unknowns),
 * so where a document abbreviates them — the hand-written fixtures list only computed outputs, preview steps and
 * some exports none — the inputs fill the gaps and the outputs win. A component's outputs are what it registered
 * (registerOutputs), never its inputs: they are sent as recorded.
 */
export function stackProps(s: StateJson, view: StackView = "cli"): Record<string, unknown> | undefined {
    if (isComponent(s)) return view === "cli" ? (s.outputs ?? {}) : { ...(s.outputs ?? {}), ...(s.inputs ?? {}) };
    return { ...(s.inputs ?? {}), ...(s.outputs ?? {}) };
}

/**
 * "cli": components carry their registered outputs only, as in a real preview/update. "engine": components carry
 * outputs overlaid with inputs, as policies/snapshot.ts gives them to the engine — used to show that a divergence
 * comes from the component's props and from nothing else in the argument objects.
 */
export type StackView = "cli" | "engine";

/** `custom: false`, or (old states without the flag) no id and not a provider. */
export function isComponent(s: StateJson): boolean {
    if (typeof s.custom === "boolean") return !s.custom;
    return !s.type.startsWith("pulumi:providers:") && (s.id === undefined || s.id === "");
}

export function analyzeRequests(doc: CliDocument): pb.AnalyzeRequest[] {
    const providers = new Map(doc.states.filter((s) => s.type.startsWith("pulumi:providers:")).map((s) => [s.urn, s]));
    return doc.states.map((s) => {
        const req = new pb.AnalyzeRequest();
        req.setUrn(s.urn);
        req.setType(s.type);
        req.setName(urnName(s.urn));
        req.setProperties(marshalProperties(s.inputs, doc.secretsProvider));
        req.setOptions(options(s));
        const p = providerOf(s, doc, providers);
        if (p) req.setProvider(p);
        return req;
    });
}

export function analyzeStackRequest(doc: CliDocument, view: StackView = "cli"): pb.AnalyzeStackRequest {
    const providers = new Map(doc.states.filter((s) => s.type.startsWith("pulumi:providers:")).map((s) => [s.urn, s]));
    const req = new pb.AnalyzeStackRequest();
    req.setResourcesList(
        doc.states.map((s) => {
            const r = new pb.AnalyzerResource();
            r.setUrn(s.urn);
            r.setType(s.type);
            r.setName(urnName(s.urn));
            r.setProperties(marshalProperties(stackProps(s, view), doc.secretsProvider));
            r.setOptions(options(s));
            const p = providerOf(s, doc, providers);
            if (p) r.setProvider(p);
            if (s.parent) r.setParent(s.parent);
            r.setDependenciesList((s.dependencies ?? []).map(String));
            for (const [k, urns] of Object.entries(s.propertyDependencies ?? {})) {
                if (!Array.isArray(urns) || urns.length === 0) continue; // the CLI skips properties without dependencies
                const pd = new pb.AnalyzerPropertyDependencies();
                pd.setUrnsList(urns.map(String));
                r.getPropertydependenciesMap().set(k, pd);
            }
            return r;
        }),
    );
    return req;
}

// ------------------------------------------------------------------------------------------------
// Config: pkg/resource/analyzer/config.go ReconcilePolicyPackConfig
// ------------------------------------------------------------------------------------------------

export interface AnalyzerPolicyConfig {
    enforcementLevel?: Level;
    properties?: Record<string, unknown>;
}

/** LoadPolicyPackConfigFromFile + ReconcilePolicyPackConfig: defaults < initialConfig < file (with "all" first). */
export function reconcilePolicyPackConfig(info: pb.AnalyzerInfo, file: Record<string, unknown>): Map<string, AnalyzerPolicyConfig> {
    const result = new Map<string, AnalyzerPolicyConfig>();
    for (const p of info.getPoliciesList()) {
        const schema = p.getConfigschema()?.getProperties()?.toJavaScript() as Record<string, { default?: unknown }> | undefined;
        let props: Record<string, unknown> | undefined;
        for (const [k, s] of Object.entries(schema ?? {})) {
            if (s && typeof s === "object" && "default" in s) (props ??= {})[k] = s.default;
        }
        result.set(p.getName(), { enforcementLevel: PB_TO_LEVEL.get(p.getEnforcementlevel()), properties: props });
    }
    const apply = (given: Map<string, AnalyzerPolicyConfig>) => {
        const all = given.get("all");
        if (all?.enforcementLevel) for (const [k, v] of result) result.set(k, { enforcementLevel: all.enforcementLevel, properties: v.properties });
        for (const [name, g] of given) {
            const cur = result.get(name) ?? {};
            let properties = cur.properties;
            if (g.properties && Object.keys(g.properties).length > 0) properties = { ...(properties ?? {}), ...g.properties };
            result.set(name, { enforcementLevel: g.enforcementLevel ?? cur.enforcementLevel, properties });
        }
    };
    const initial = new Map<string, AnalyzerPolicyConfig>();
    for (const [k, v] of info.getInitialconfigMap().entries()) {
        initial.set(k, { enforcementLevel: PB_TO_LEVEL.get(v.getEnforcementlevel()), properties: v.getProperties()?.toJavaScript() });
    }
    apply(initial);
    apply(parseConfigFile(file));
    return result;
}

function parseConfigFile(file: Record<string, unknown>): Map<string, AnalyzerPolicyConfig> {
    const out = new Map<string, AnalyzerPolicyConfig>();
    for (const [k, v] of Object.entries(file)) {
        if (k === "environments") continue;
        if (typeof v === "string") out.set(k, { enforcementLevel: v as Level });
        else if (isObj(v)) {
            const { enforcementLevel, ...rest } = v;
            const c: AnalyzerPolicyConfig = {};
            if (enforcementLevel) c.enforcementLevel = enforcementLevel as Level;
            if (Object.keys(rest).length > 0) c.properties = rest;
            if (c.enforcementLevel || c.properties) out.set(k, c);
        } else throw new Error(`policy config: ${k} must be a string or an object`);
    }
    return out;
}

// ------------------------------------------------------------------------------------------------
// The running pack
// ------------------------------------------------------------------------------------------------

/** A diagnostic as the CLI records it: the URN is the analyzed resource's for Analyze, the pack's own for AnalyzeStack. */
export interface RuntimeDiagnostic {
    policy: string;
    enforcementLevel: Level;
    urn?: string;
    message: string;
    description: string;
    policyPack: string;
}

export interface DocumentAnalysis {
    diagnostics: RuntimeDiagnostic[];
    /** Remediations the pack proposed (Remediate is called before Analyze, as the CLI does). */
    remediations: number;
    /** gRPC errors: a rule that throws fails the whole Analyze/AnalyzeStack call under the real runtime. */
    failures: { urn?: string; error: string }[];
}

export interface StackInfo {
    organization: string;
    project: string;
    stack: string;
    tags: Record<string, string>;
    config?: Record<string, string>;
}

// The generated client's unary methods, reduced to the (request, callback) overload used here.
type Unary<Req, Res> = (req: Req, cb: (err: grpc.ServiceError | null, res: Res) => void) => unknown;
const unary = <Req, Res>(fn: unknown) => fn as Unary<Req, Res>;

export class PolicyPackProcess {
    private stderr = "";
    private constructor(
        readonly child: ChildProcess,
        readonly client: rpc.AnalyzerClient,
        readonly port: number,
        /** Milliseconds from spawn to the port on stdout (type-checking included). */
        readonly startupMs: number,
    ) {
        child.stderr?.on("data", (d: Buffer) => (this.stderr += d.toString()));
    }

    get log(): string {
        return this.stderr;
    }

    /** Spawns the pack as pulumi-language-nodejs RunPlugin does and waits for its port. */
    static async start(packDir: string, stack: StackInfo, timeoutMs = 60_000): Promise<PolicyPackProcess> {
        const dir = path.resolve(packDir);
        const runPolicyPack = require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [dir] });
        const env: NodeJS.ProcessEnv = {
            ...process.env,
            PULUMI_NODEJS_TYPESCRIPT: "true",
            PULUMI_NODEJS_ORGANIZATION: stack.organization,
            PULUMI_NODEJS_PROJECT: stack.project,
            PULUMI_NODEJS_STACK: stack.stack,
            PULUMI_NODEJS_DRY_RUN: "true",
            PULUMI_CONFIG: JSON.stringify(stack.config ?? {}),
        };
        // The engine address is host.ServerAddr(); run-policy-pack drops it from argv and never dials it.
        const started = Date.now();
        const child = spawn(process.execPath, [runPolicyPack, "127.0.0.1:0", dir], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
        let err = "";
        child.stderr.on("data", (d: Buffer) => (err += d.toString()));
        const port = await new Promise<number>((resolve, reject) => {
            let out = "";
            const timer = setTimeout(() => fail(new Error(`policy pack printed no port within ${timeoutMs} ms`)), timeoutMs);
            const fail = (e: Error) => {
                clearTimeout(timer);
                child.kill("SIGKILL");
                reject(new Error(`${e.message}\n--- pack stderr ---\n${err}`));
            };
            child.stdout.on("data", (d: Buffer) => {
                out += d.toString();
                const m = /^(\d+)\r?\n/.exec(out); // the PolicyProxy reads it with fmt.Fscanf("%d\n")
                if (m) {
                    clearTimeout(timer);
                    resolve(Number(m[1]));
                }
            });
            child.once("exit", (code, signal) => fail(new Error(`policy pack exited (${code ?? signal}) before printing its port`)));
            child.once("error", (e) => fail(e));
        });
        const startupMs = Date.now() - started;
        child.removeAllListeners("exit");
        const client = new rpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
            "grpc.max_receive_message_length": 400 * 1024 * 1024,
            "grpc.max_send_message_length": 400 * 1024 * 1024,
        });
        const p = new PolicyPackProcess(child, client, port, startupMs);
        p.stderr = err;
        await p.configureStack(stack);
        return p;
    }

    private call<Req, Res>(fn: unknown, req: Req): Promise<Res> {
        return new Promise((resolve, reject) => {
            unary<Req, Res>(fn).call(this.client, req, (e, res) => (e ? reject(e) : resolve(res)));
        });
    }

    configureStack(stack: StackInfo): Promise<unknown> {
        const req = new pb.AnalyzerStackConfigureRequest();
        req.setStack(stack.stack);
        req.setProject(stack.project);
        req.setOrganization(stack.organization);
        req.setDryRun(true);
        for (const [k, v] of Object.entries(stack.tags)) req.getTagsMap().set(k, v);
        for (const [k, v] of Object.entries(stack.config ?? {})) req.getConfigMap().set(k, v);
        return this.call<pb.AnalyzerStackConfigureRequest, pb.AnalyzerStackConfigureResponse>(this.client.configureStack, req);
    }

    getAnalyzerInfo(): Promise<pb.AnalyzerInfo> {
        return this.call<Empty, pb.AnalyzerInfo>(this.client.getAnalyzerInfo, new Empty());
    }

    getPluginInfo(): Promise<PluginInfo> {
        return this.call<Empty, PluginInfo>(this.client.getPluginInfo, new Empty());
    }

    /** analyzer.Configure: every reconciled entry, properties as a Struct (empty when none). */
    configure(config: Map<string, AnalyzerPolicyConfig>): Promise<unknown> {
        const req = new pb.ConfigureAnalyzerRequest();
        for (const [name, c] of config) {
            if (!c.enforcementLevel) throw new Error(`policy config ${name}: no enforcement level`);
            const pc = new pb.PolicyConfig();
            pc.setEnforcementlevel(LEVEL_TO_PB[c.enforcementLevel]);
            pc.setProperties(Struct.fromJavaScript((c.properties ?? {}) as Record<string, any>));
            req.getPolicyconfigMap().set(name, pc);
        }
        return this.call<pb.ConfigureAnalyzerRequest, Empty>(this.client.configure, req);
    }

    remediate(req: pb.AnalyzeRequest): Promise<pb.RemediateResponse> {
        return this.call<pb.AnalyzeRequest, pb.RemediateResponse>(this.client.remediate, req);
    }

    async analyze(req: pb.AnalyzeRequest): Promise<RuntimeDiagnostic[]> {
        const res = await this.call<pb.AnalyzeRequest, pb.AnalyzeResponse>(this.client.analyze, req);
        // OnPolicyViolation(r.URN, d): a resource policy's finding belongs to the analyzed resource.
        return res.getDiagnosticsList().map((d) => diagnostic(d, req.getUrn()));
    }

    async analyzeStack(req: pb.AnalyzeStackRequest): Promise<RuntimeDiagnostic[]> {
        const res = await this.call<pb.AnalyzeStackRequest, pb.AnalyzeResponse>(this.client.analyzeStack, req);
        return res.getDiagnosticsList().map((d) => diagnostic(d, d.getUrn() || undefined));
    }

    /** Runs a whole document the way AnalyzeSnapshot does: Remediate + Analyze per resource, then AnalyzeStack. */
    async analyzeDocument(doc: CliDocument, view: StackView = "cli"): Promise<DocumentAnalysis> {
        const diagnostics: RuntimeDiagnostic[] = [];
        const failures: { urn?: string; error: string }[] = [];
        let remediations = 0;
        // The CLI analyzes resources as their steps are generated, many at once; so do we (results are a multiset).
        const results = await Promise.all(
            analyzeRequests(doc).map(async (req) => {
                try {
                    const n = (await this.remediate(req)).getRemediationsList().length;
                    return { n, ds: await this.analyze(req) };
                } catch (e) {
                    failures.push({ urn: req.getUrn(), error: (e as Error).message });
                    return { n: 0, ds: [] };
                }
            }),
        );
        for (const r of results) {
            remediations += r.n;
            diagnostics.push(...r.ds);
        }
        try {
            diagnostics.push(...(await this.analyzeStack(analyzeStackRequest(doc, view))));
        } catch (e) {
            failures.push({ error: (e as Error).message });
        }
        return { diagnostics, remediations, failures };
    }

    async stop(): Promise<void> {
        try {
            await this.call<Empty, Empty>(this.client.cancel, new Empty());
        } catch {
            /* older packs: Unimplemented */
        }
        this.client.close();
        if (this.child.exitCode === null && this.child.signalCode === null) {
            const exited = new Promise((r) => this.child.once("exit", r));
            this.child.kill("SIGTERM");
            await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
            if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
        }
    }
}

function diagnostic(d: pb.AnalyzeDiagnostic, urn: string | undefined): RuntimeDiagnostic {
    return {
        policy: d.getPolicyname(),
        enforcementLevel: PB_TO_LEVEL.get(d.getEnforcementlevel()) ?? "advisory",
        urn,
        message: d.getMessage(),
        description: d.getDescription(),
        policyPack: `${d.getPolicypackname()}@v${d.getPolicypackversion()}`,
    };
}
