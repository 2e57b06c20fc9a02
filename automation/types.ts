// The interface both engines implement: the portal (and anyone else) drives stacks through it without knowing
// whether the real Pulumi CLI or the offline mock runtime is underneath.
import { ConfigProblem } from "../stacks/schema";
import { SOURCE_IDENTITY_ENV, SOURCE_IDENTITY_INVALID_CHAR, sourceIdentityFrom } from "../stacks/sourceIdentity";

export type Operation = "preview" | "up" | "destroy" | "refresh";
export const operations: readonly Operation[] = ["preview", "up", "destroy", "refresh"];

export interface PolicyViolation {
    policy: string;
    enforcementLevel: string;
    urn?: string;
    message: string;
}

/**
 * What an operation came to. `busy`: another update holds the stack's lock (retry later); `not-found`: the
 * stack does not exist in the backend; `invalid`: the config was rejected before anything ran.
 */
export type Outcome = "succeeded" | "failed" | "busy" | "not-found" | "invalid";

export interface OperationResult {
    outcome: Outcome;
    /** One line for people: what happened, or why not. */
    message: string;
    problems?: ConfigProblem[];
    violations?: PolicyViolation[];
    /** Stack outputs after a successful `up`/`refresh` (values, secrets revealed: the portal keeps them server-side). */
    outputs?: Record<string, unknown>;
    /** Names of the outputs the engine marks secret (Pulumi's secret flag): the portal never returns them in clear. */
    secretOutputs?: string[];
    resourceCount?: number;
    /** Resource changes by kind ("create", "same", …) when the engine reports them. */
    changes?: Record<string, number>;
    /** A drift check's finding (engine.drift): what differs between the stack's recorded state and reality. */
    drift?: DriftFinding;
}

/** One difference a drift check found: a resource (pulumi) or an output (offline) that is not as recorded. */
export interface DriftChange {
    /** The resource URN (pulumi) or `output:<name>` (offline). */
    subject: string;
    /** What a refresh would do to the recorded state: "update", "delete", "changed", "added", "removed", … */
    op: string;
    /** Offline engine: the recorded and the current value (secrets never, see the portal's redaction). */
    recorded?: unknown;
    current?: unknown;
}

export interface DriftFinding {
    drifted: boolean;
    changes: DriftChange[];
}

export interface RunContext {
    /** Receives the operation's output line by line, as it happens. */
    log(line: string): void;
    /** The clock for expiry decisions (offline engine); the real engine uses the real time. */
    now?: Date;
    /**
     * Config values that are secrets, key → plaintext (the portal keeps them apart from the config, where such a
     * key holds only a `{ secure: … }` placeholder). The pulumi engine sets them with `--secret`; the offline
     * engine has no use for them and never writes them anywhere.
     */
    secrets?: Record<string, string>;
    /**
     * Who the run is for (the portal: the user who asked for the job), passed to the program as BYOC_SOURCE_IDENTITY:
     * a stack that deploys through the customer's deploy role sets it as the STS source identity, so the customer's
     * CloudTrail names that person on every call (stacks/sourceIdentity.ts).
     */
    sourceIdentity?: string;
}

/**
 * An actor as an STS source identity ("system:drift" → "system-drift"): characters outside the STS alphabet become
 * "-", too short gets a "byoc-" prefix, too long is cut. The result is checked by the rule the program itself applies
 * to BYOC_SOURCE_IDENTITY (stacks/sourceIdentity.ts sourceIdentityFrom), so the two cannot drift apart silently.
 */
export function sourceIdentityOf(actor: string): string {
    const clean = actor.replace(SOURCE_IDENTITY_INVALID_CHAR, "-").replace(/^aws-/i, "byoc-aws-").slice(0, 64);
    return sourceIdentityFrom({ [SOURCE_IDENTITY_ENV]: clean.length >= 2 ? clean : `byoc-${clean}` });
}

export interface StackEngine {
    readonly kind: "pulumi" | "offline" | "deployments";
    /** Creates the stack if needed and makes its config exactly `raw` (keys as Pulumi spells them). */
    configure(stack: string, raw: Record<string, unknown>, ctx: RunContext): Promise<OperationResult>;
    /** Runs one operation with the policy pack of the stack's environment (preview/up). */
    run(op: Operation, stack: string, raw: Record<string, unknown>, ctx: RunContext): Promise<OperationResult>;
    /** The stack's current outputs, or undefined when the stack does not exist. */
    outputs(stack: string): Promise<Record<string, unknown> | undefined>;
    /**
     * A drift check that changes nothing (neither the stack's state nor its config): pulumi — a preview-only
     * refresh; offline — the program run again, its outputs compared with the recorded ones. Optional: an engine
     * without it answers drift jobs as failed.
     */
    drift?(stack: string, raw: Record<string, unknown>, ctx: RunContext): Promise<OperationResult>;
}

/** The environment whose policy-pack config applies: `byoc:environment`, defaulting to the stricter prod. */
export function environmentOf(raw: Record<string, unknown>): "dev" | "prod" {
    return raw["byoc:environment"] === "dev" ? "dev" : "prod";
}

/** JSON with every object's keys sorted: two values that are the same data give the same text. */
export function canonicalJson(v: unknown): string {
    const sort = (x: unknown): unknown =>
        Array.isArray(x) ? x.map(sort) : x !== null && typeof x === "object" ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, sort((x as Record<string, unknown>)[k])])) : x;
    return JSON.stringify(sort(v) ?? null);
}
