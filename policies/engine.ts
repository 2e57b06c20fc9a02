/**
 * The one policy engine. It evaluates the pack's rules over a list of resources by building exactly the
 * argument objects the real CrossGuard runtime (@pulumi/policy 1.21 `server.js`) builds:
 *
 *  - ResourceValidationArgs: type, props (wrapped in the runtime's unknown-checking proxy), urn, name,
 *    opts, provider?, stackTags, isType, asType, getConfig, notApplicable — one object per (policy, resource);
 *    `validateResource` may be a function or an array of functions, called in order;
 *  - StackValidationArgs: resources (type, props, urn, name, opts, provider?, parent, dependencies,
 *    propertyDependencies as resolved resource objects, isType, asType), getConfig, stackTags, notApplicable;
 *  - enforcement: policy config `enforcementLevel` > config `all` > the policy's own level > the pack's level
 *    (policies/index.ts: mandatory); "disabled" skips, "remediate" is reported as "mandatory" (as the runtime does);
 *  - `reportViolation(message, urn?)`: the URN is ignored for resource policies (the resource's URN is used);
 *  - touching an unknown value through the proxy yields an advisory "can't run … during preview".
 *
 * Used by the PolicyPack (policies/index.ts only assembles the pack), `byoc policy check`, the offline
 * preview and the tests, so a rule behaves the same everywhere. The engine never throws on bad input:
 * malformed resources end up in `errors`, crashing rules are reported fail-closed.
 */
import * as fs from "fs";
import * as path from "path";
import type {
    EnforcementLevel,
    Policy,
    PolicyProviderResource,
    PolicyResource as RuntimePolicyResource,
    PolicyResourceOptions,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
import { allPolicies } from "./rules";
import { proxyTargets } from "./rules/util";

// The runtime's own proxy (a dependency-free module of @pulumi/policy; its typings are internal).
// eslint-disable-next-line @typescript-eslint/no-var-requires
const proxyModule: {
    unknownCheckingProxy<T>(o: T): T;
    UnknownValueError: new (...args: any[]) => Error;
} = require("@pulumi/policy/proxy");

export type { EnforcementLevel };
export type Environment = "dev" | "prod";
export type AnyPolicy = ResourceValidationPolicy | StackValidationPolicy;

/** A resource as read from a snapshot / preview / stack export. */
export interface PolicyResource {
    urn: string;
    type: string;
    name: string;
    props: Record<string, any>;
    parent?: string;
    dependencies?: string[];
    propertyDependencies?: Record<string, string[]>;
    /** Provider reference as stored by Pulumi: `<provider urn>::<provider id>`. */
    provider?: string;
    id?: string;
    custom?: boolean;
}

/** CrossGuard policy-pack config JSON: `{ "all": "mandatory", "<policy>": { "enforcementLevel": ..., ... } }`. */
export type PolicyConfigEntry = EnforcementLevel | ({ enforcementLevel?: EnforcementLevel } & { [key: string]: unknown });
export type PackConfig = Record<string, PolicyConfigEntry>;

export interface Violation {
    policy: string;
    enforcementLevel: EnforcementLevel;
    urn?: string;
    message: string;
}
export interface ResourceError {
    /** Position in the input list (0-based). */
    index?: number;
    urn?: string;
    message: string;
}
export interface PolicyReport {
    environment: Environment;
    violations: Violation[];
    mandatoryCount: number;
    advisoryCount: number;
    /** Resources evaluated (malformed ones are excluded and listed in `errors`). */
    checkedResources: number;
    policyCount: number;
    errors: ResourceError[];
}

export interface EvaluateOptions {
    env: Environment;
    /** Policy pack config; defaults to `policies/config/<env>.json`. */
    config?: PackConfig;
    stackTags?: Record<string, string>;
    /** Defaults to `allPolicies`; tests may pass a subset. */
    policies?: AnyPolicy[];
}

/** The level policies/index.ts gives the PolicyPack: the runtime's fallback for a policy without its own. */
const PACK_DEFAULT_LEVEL: EnforcementLevel = "mandatory";
const LEVELS: ReadonlySet<string> = new Set(["advisory", "mandatory", "remediate", "disabled"]);
export const CONFIG_DIR = path.join(__dirname, "config");

export function isResourcePolicy(p: AnyPolicy): p is ResourceValidationPolicy {
    const v = (p as ResourceValidationPolicy).validateResource;
    return typeof v === "function" || (Array.isArray(v) && v.every((f) => typeof f === "function"));
}
export function isStackPolicy(p: AnyPolicy): p is StackValidationPolicy {
    return typeof (p as StackValidationPolicy).validateStack === "function";
}

// ------------------------------------------------------------------------------------------------
// Config
// ------------------------------------------------------------------------------------------------

export class PolicyConfigError extends Error {}

/** Reads and validates `policies/config/<env>.json` (or `file`). Throws PolicyConfigError with a one-line message. */
export function loadPackConfig(env: Environment, file?: string, policies: AnyPolicy[] = allPolicies): PackConfig {
    const f = file ?? path.join(CONFIG_DIR, `${env}.json`);
    let text: string;
    try {
        text = fs.readFileSync(f, "utf8");
    } catch (e) {
        throw new PolicyConfigError(`cannot read policy config ${f}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    let parsed: unknown;
    try {
        parsed = JSON.parse(text);
    } catch (e) {
        throw new PolicyConfigError(`policy config ${f} is not valid JSON: ${(e as Error).message}`);
    }
    const problems = validatePackConfig(parsed, policies);
    if (problems.length > 0) throw new PolicyConfigError(`policy config ${f}: ${problems.join("; ")}`);
    return parsed as PackConfig;
}

/** Validates config the way the Pulumi CLI does against each policy's configSchema. Returns problems. */
export function validatePackConfig(cfg: unknown, policies: AnyPolicy[] = allPolicies): string[] {
    if (cfg === null || typeof cfg !== "object" || Array.isArray(cfg)) return ["must be a JSON object"];
    const byName = new Map(policies.map((p) => [p.name, p]));
    const problems: string[] = [];
    for (const [name, entry] of Object.entries(cfg as Record<string, unknown>)) {
        const p = byName.get(name);
        if (name !== "all" && !p) {
            problems.push(`unknown policy "${name}"`);
            continue;
        }
        if (typeof entry === "string") {
            if (!LEVELS.has(entry)) problems.push(`${name}: invalid enforcement level "${entry}"`);
            continue;
        }
        if (entry === null || typeof entry !== "object" || Array.isArray(entry)) {
            problems.push(`${name}: must be an enforcement level or an object`);
            continue;
        }
        for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
            if (k === "enforcementLevel") {
                if (typeof v !== "string" || !LEVELS.has(v)) problems.push(`${name}.enforcementLevel: invalid "${String(v)}"`);
                continue;
            }
            const schema = p?.configSchema?.properties?.[k] as { type?: string; enum?: unknown[]; items?: { type?: string } } | undefined;
            if (!schema) {
                problems.push(`${name}.${k}: unknown config property`);
                continue;
            }
            if (!matchesType(v, schema.type)) problems.push(`${name}.${k}: expected ${schema.type}, got ${JSON.stringify(v)}`);
            else if (schema.enum && !schema.enum.includes(v)) problems.push(`${name}.${k}: ${JSON.stringify(v)} not one of ${JSON.stringify(schema.enum)}`);
            else if (schema.type === "array" && schema.items?.type && !(v as unknown[]).every((x) => matchesType(x, schema.items!.type))) {
                problems.push(`${name}.${k}: items must be ${schema.items.type}`);
            }
        }
    }
    return problems;
}

function matchesType(v: unknown, t: string | undefined): boolean {
    switch (t) {
        case undefined:
            return true;
        case "string":
            return typeof v === "string";
        case "number":
            return typeof v === "number" && Number.isFinite(v);
        case "integer":
            return typeof v === "number" && Number.isInteger(v);
        case "boolean":
            return typeof v === "boolean";
        case "array":
            return Array.isArray(v);
        case "object":
            return v !== null && typeof v === "object" && !Array.isArray(v);
        default:
            return true;
    }
}

/** Enforcement level of a policy under a config (runtime precedence). */
export function enforcementLevelOf(p: AnyPolicy, config: PackConfig): EnforcementLevel {
    const own = config[p.name];
    const ownLevel = typeof own === "string" ? own : own?.enforcementLevel;
    const all = config["all"];
    const allLevel = typeof all === "string" ? all : all?.enforcementLevel;
    return (ownLevel || allLevel || p.enforcementLevel || PACK_DEFAULT_LEVEL) as EnforcementLevel;
}

/**
 * What `args.getConfig()` returns for a policy: schema defaults (the Pulumi CLI applies them), then the
 * environment for env-aware rules, then the config file's properties; never `enforcementLevel`.
 */
export function policyConfigOf(p: AnyPolicy, config: PackConfig, env?: Environment): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const props = (p.configSchema?.properties ?? {}) as Record<string, { default?: unknown }>;
    for (const [k, s] of Object.entries(props)) {
        if (s && s.default !== undefined) out[k] = structuredClone(s.default);
    }
    if (env && "environment" in props) out.environment = env;
    const own = config[p.name];
    if (own && typeof own === "object") {
        for (const [k, v] of Object.entries(own)) if (k !== "enforcementLevel") out[k] = v;
    }
    return out;
}

// ------------------------------------------------------------------------------------------------
// Argument builders (exported so tests drive rules through exactly these objects)
// ------------------------------------------------------------------------------------------------

class NotApplicableError extends Error {
    constructor(readonly reason?: string) {
        super(reason ?? "Policy does not apply");
    }
}
function throwNotApplicable(reason?: string): never {
    throw new NotApplicableError(reason);
}

function freezeMap(map: Map<string, string>): ReadonlyMap<string, string> {
    return Object.freeze({
        entries: map.entries.bind(map),
        forEach: map.forEach.bind(map),
        get: map.get.bind(map),
        has: map.has.bind(map),
        keys: map.keys.bind(map),
        size: map.size,
        values: map.values.bind(map),
        [Symbol.iterator]: map[Symbol.iterator].bind(map),
    }) as unknown as ReadonlyMap<string, string>;
}

// Factories (rather than inline arrows) keep per-resource closures cheap.
function isTypeFn(type: string): ResourceValidationArgs["isType"] {
    return function (resourceClass: unknown) {
        return isTypeOf(type, resourceClass);
    } as ResourceValidationArgs["isType"];
}
function asTypeFn(type: string, props: Record<string, any>): ResourceValidationArgs["asType"] {
    return function (resourceClass: unknown) {
        return isTypeOf(type, resourceClass) ? props : undefined;
    } as ResourceValidationArgs["asType"];
}

function isTypeOf(type: string, resourceClass: unknown): boolean {
    const rc = resourceClass as { __pulumiType?: unknown; isInstance?: (o: unknown) => boolean } | undefined;
    if (typeof rc?.__pulumiType === "string" && rc.__pulumiType.length > 0) return type === rc.__pulumiType;
    return typeof rc?.isInstance === "function" && rc.isInstance({ __pulumiType: type }) === true;
}

// Snapshots carry no resource options; these defaults are what the runtime reports for unset options.
// They are frozen and shared, so a rule cannot alter another resource's view.
const NO_STRINGS: string[] = Object.freeze([]) as unknown as string[];
const NO_TIMEOUTS = Object.freeze({ createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 });

function optionsOf(r: PolicyResource): PolicyResourceOptions {
    const o: PolicyResourceOptions = {
        protect: false,
        ignoreChanges: NO_STRINGS,
        aliases: NO_STRINGS,
        customTimeouts: NO_TIMEOUTS,
        additionalSecretOutputs: NO_STRINGS,
    };
    if (r.parent) o.parent = r.parent;
    return o;
}

/** Shared, per-evaluation context: resolved resources, provider lookup, stack tags and config. */
export interface EvalContext {
    env: Environment;
    config: PackConfig;
    stackTags: ReadonlyMap<string, string>;
    byUrn: Map<string, PolicyResource>;
    /** Per-resource pieces that do not depend on the policy (props proxy, opts, isType/asType, provider). */
    prepared: Map<string, Prepared>;
    /** Per-policy getConfig (config resolved once per evaluation). */
    getConfig: Map<AnyPolicy, ResourceValidationArgs["getConfig"]>;
}

interface Prepared {
    props: Record<string, any>;
    opts: PolicyResourceOptions;
    isType: ResourceValidationArgs["isType"];
    asType: ResourceValidationArgs["asType"];
    provider?: PolicyProviderResource;
}

export function makeContext(resources: PolicyResource[], opts: { env: Environment; config?: PackConfig; stackTags?: Record<string, string> }): EvalContext {
    const byUrn = new Map<string, PolicyResource>();
    for (const r of resources) byUrn.set(r.urn, r);
    return {
        env: opts.env,
        config: opts.config ?? loadPackConfig(opts.env),
        stackTags: freezeMap(new Map(Object.entries(opts.stackTags ?? {}))),
        byUrn,
        prepared: new Map(),
        getConfig: new Map(),
    };
}

function proxied<T extends object>(o: T): T {
    const p = proxyModule.unknownCheckingProxy(o);
    proxyTargets.set(p, o);
    return p;
}

function prepare(ctx: EvalContext, r: PolicyResource): Prepared {
    let p = ctx.prepared.get(r.urn);
    if (p) return p;
    const props = proxied(r.props);
    p = {
        props,
        opts: optionsOf(r),
        isType: isTypeFn(r.type),
        asType: asTypeFn(r.type, props),
        provider: providerOf(ctx, r),
    };
    ctx.prepared.set(r.urn, p);
    return p;
}

function getConfigFor(ctx: EvalContext, p: AnyPolicy): ResourceValidationArgs["getConfig"] {
    let f = ctx.getConfig.get(p);
    if (!f) {
        const cfg = policyConfigOf(p, ctx.config, ctx.env);
        // Like the runtime: a fresh object per call, without enforcementLevel.
        f = (<T extends object>() => ({ ...cfg }) as T) as ResourceValidationArgs["getConfig"];
        ctx.getConfig.set(p, f);
    }
    return f;
}

function providerOf(ctx: EvalContext, r: PolicyResource): PolicyProviderResource | undefined {
    if (!r.provider) return undefined;
    const i = r.provider.lastIndexOf("::");
    const urn = i > 0 && r.provider.slice(0, i).includes("::") ? r.provider.slice(0, i) : r.provider;
    const pr = ctx.byUrn.get(urn);
    const type = pr?.type ?? urn.split("::").slice(-2, -1)[0] ?? "";
    const name = pr?.name ?? urn.slice(urn.lastIndexOf("::") + 2);
    return { type, urn, name, props: proxied(pr?.props ?? {}) };
}

export function buildResourceArgs(ctx: EvalContext, p: AnyPolicy, r: PolicyResource): ResourceValidationArgs {
    const pr = prepare(ctx, r);
    const args: ResourceValidationArgs = {
        type: r.type,
        props: pr.props,
        urn: r.urn,
        name: r.name,
        opts: pr.opts,
        stackTags: ctx.stackTags,
        isType: pr.isType,
        asType: pr.asType,
        getConfig: getConfigFor(ctx, p),
        notApplicable: throwNotApplicable,
    };
    if (pr.provider) args.provider = pr.provider;
    return args;
}

/** The `resources` array of StackValidationArgs (shared by all stack policies of one evaluation). */
export function buildStackResources(ctx: EvalContext, resources: PolicyResource[]): RuntimePolicyResource[] {
    const out: RuntimePolicyResource[] = [];
    const byUrn = new Map<string, RuntimePolicyResource>();
    for (const r of resources) {
        const p = prepare(ctx, r);
        const pr: RuntimePolicyResource = {
            type: r.type,
            props: p.props,
            urn: r.urn,
            name: r.name,
            opts: p.opts,
            dependencies: [],
            propertyDependencies: {},
            isType: p.isType,
            asType: p.asType as RuntimePolicyResource["asType"],
        };
        if (p.provider) pr.provider = p.provider;
        out.push(pr);
        byUrn.set(r.urn, pr);
    }
    for (let i = 0; i < resources.length; i++) {
        const r = resources[i];
        const pr = out[i];
        if (r.parent) {
            const parent = byUrn.get(r.parent);
            if (parent) pr.parent = parent;
        }
        if (r.dependencies && r.dependencies.length > 0) {
            pr.dependencies = r.dependencies.map((d) => byUrn.get(d)).filter((d): d is RuntimePolicyResource => !!d);
        }
        if (r.propertyDependencies) {
            for (const [k, v] of Object.entries(r.propertyDependencies)) {
                pr.propertyDependencies[k] = (Array.isArray(v) ? v : []).map((d) => byUrn.get(d)).filter((d): d is RuntimePolicyResource => !!d);
            }
        }
    }
    return out;
}

export function buildStackArgs(ctx: EvalContext, p: AnyPolicy, stackResources: RuntimePolicyResource[]): StackValidationArgs {
    return {
        resources: stackResources,
        getConfig: getConfigFor(ctx, p),
        stackTags: ctx.stackTags,
        notApplicable: throwNotApplicable,
    };
}

// ------------------------------------------------------------------------------------------------
// Input validation
// ------------------------------------------------------------------------------------------------

/** Splits input into well-formed resources and one error per malformed entry. */
export function sanitizeResources(input: readonly unknown[]): { resources: PolicyResource[]; errors: ResourceError[] } {
    const resources: PolicyResource[] = [];
    const errors: ResourceError[] = [];
    const seen = new Set<string>();
    for (let index = 0; index < input.length; index++) {
        const r = input[index] as Partial<PolicyResource> | null;
        if (r === null || typeof r !== "object" || Array.isArray(r)) {
            errors.push({ index, message: "resource is not an object" });
            continue;
        }
        const urn = typeof r.urn === "string" && r.urn.length > 0 ? r.urn : undefined;
        const okType = typeof r.type === "string" && r.type.length > 0;
        const okProps = r.props !== null && typeof r.props === "object" && !Array.isArray(r.props);
        const okDeps = r.dependencies === undefined || Array.isArray(r.dependencies);
        if (!urn || !okType || !okProps || !okDeps || seen.has(urn)) {
            const problems: string[] = [];
            if (!urn) problems.push(`missing or invalid "urn"`);
            if (!okType) problems.push(`missing or invalid "type"`);
            if (!okProps) problems.push(`"props" is not an object`);
            if (!okDeps) problems.push(`"dependencies" is not an array`);
            if (urn && seen.has(urn)) problems.push("duplicate URN");
            errors.push({ index, urn, message: `malformed resource skipped: ${problems.join(", ")}` });
            continue;
        }
        seen.add(urn);
        resources.push(r as PolicyResource);
    }
    return { resources, errors };
}

// ------------------------------------------------------------------------------------------------
// Evaluation
// ------------------------------------------------------------------------------------------------

function isThenable(v: unknown): v is PromiseLike<unknown> {
    return !!v && typeof (v as { then?: unknown }).then === "function";
}

export function evaluatePolicies(input: PolicyResource[], opts: EvaluateOptions): PolicyReport {
    const policies = opts.policies ?? allPolicies;
    const { resources, errors } = sanitizeResources(input);
    const ctx = makeContext(resources, opts);
    const violations: Violation[] = [];

    const failed = (p: AnyPolicy, level: EnforcementLevel, urn: string | undefined, e: unknown) => {
        if (e instanceof NotApplicableError) return;
        if (e instanceof proxyModule.UnknownValueError) {
            violations.push({ policy: p.name, enforcementLevel: "advisory", urn, message: `can't run policy '${p.name}' during preview: ${(e as Error).message}` });
            return;
        }
        const msg = e instanceof Error ? e.message : String(e);
        errors.push({ urn, message: `policy '${p.name}' failed: ${msg}` });
        // Fail closed: a rule that cannot judge a resource counts as a violation at its level.
        violations.push({ policy: p.name, enforcementLevel: level, urn, message: `policy could not evaluate this resource (${msg}). Remediation: fix the resource shape or report a bug in the rule.` });
    };
    const asyncResult = (p: AnyPolicy, level: EnforcementLevel, urn: string | undefined, v: unknown) => {
        if (isThenable(v)) failed(p, level, urn, new Error("rules must be synchronous (validation returned a Promise)"));
    };

    const active: { p: AnyPolicy; level: EnforcementLevel }[] = [];
    for (const p of policies) {
        let level = enforcementLevelOf(p, ctx.config);
        if (level === "disabled") continue;
        if (level === "remediate") level = "mandatory";
        active.push({ p, level });
    }

    // Resource policies.
    for (const { p, level } of active) {
        if (!isResourcePolicy(p) || !p.validateResource) continue;
        const validations = Array.isArray(p.validateResource) ? p.validateResource : [p.validateResource];
        let current = "";
        const report: ReportViolation = (message: string) => {
            violations.push({ policy: p.name, enforcementLevel: level, urn: current, message: message || p.description });
        };
        for (const r of resources) {
            current = r.urn;
            for (const validate of validations) {
                try {
                    asyncResult(p, level, r.urn, validate(buildResourceArgs(ctx, p, r), report));
                } catch (e) {
                    failed(p, level, r.urn, e);
                }
            }
        }
    }

    // Stack policies.
    const stackPolicies = active.filter(({ p }) => isStackPolicy(p));
    if (stackPolicies.length > 0) {
        const stackResources = buildStackResources(ctx, resources);
        for (const { p, level } of stackPolicies) {
            const report: ReportViolation = (message: string, urn?: string) => {
                violations.push({ policy: p.name, enforcementLevel: level, urn, message: message || p.description });
            };
            try {
                asyncResult(p, level, undefined, (p as StackValidationPolicy).validateStack(buildStackArgs(ctx, p, stackResources), report));
            } catch (e) {
                failed(p, level, undefined, e);
            }
        }
    }

    let mandatoryCount = 0;
    let advisoryCount = 0;
    for (const v of violations) {
        if (v.enforcementLevel === "mandatory") mandatoryCount++;
        else advisoryCount++;
    }
    return { environment: opts.env, violations, mandatoryCount, advisoryCount, checkedResources: resources.length, policyCount: active.length, errors };
}

/** Policy metadata for printers and docs. */
export function describePolicies(config: PackConfig, policies: AnyPolicy[] = allPolicies): { name: string; description: string; enforcementLevel: EnforcementLevel; kind: "resource" | "stack" }[] {
    return policies.map((p: Policy & AnyPolicy) => ({
        name: p.name,
        description: p.description,
        enforcementLevel: enforcementLevelOf(p, config),
        kind: isStackPolicy(p) ? "stack" : "resource",
    }));
}
