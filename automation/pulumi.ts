// The real engine: Pulumi's Automation API over the local program (this repository), with the policy pack
// and the environment's pack config on every preview/up. Lock conflicts and missing stacks become results,
// never crashes, so the portal can say "busy" or "not found" to people.
import * as path from "path";
import {
    CommandError,
    ConcurrentUpdateError,
    ConfigMap,
    EngineEvent,
    LocalWorkspace,
    PulumiCommand,
    Stack,
    StackNotFoundError,
} from "@pulumi/pulumi/automation";
import { canonicalJson, DriftChange, environmentOf, Operation, OperationResult, PolicyViolation, RunContext, StackEngine } from "./types";
import { PulumiSettings } from "./settings";
import { SOURCE_IDENTITY_ENV } from "../stacks/sourceIdentity";

export interface PulumiEngineOptions extends PulumiSettings {
    /** The CLI to run; tests pass a recording fake. Default: `pulumi` from PATH. */
    pulumiCommand?: PulumiCommand;
}

const LOCK_TEXT = ["the stack is currently locked by", "[409] Conflict: Another update is currently in progress"];
const NOT_FOUND = /no stack named .* found/;

export class PulumiEngine implements StackEngine {
    readonly kind = "pulumi" as const;
    private command?: Promise<PulumiCommand>;

    constructor(readonly options: PulumiEngineOptions) {}

    private async workspace(ctx?: RunContext): Promise<LocalWorkspace> {
        this.command ??= this.options.pulumiCommand ? Promise.resolve(this.options.pulumiCommand) : PulumiCommand.get();
        return LocalWorkspace.create({
            workDir: this.options.workDir,
            pulumiCommand: await this.command,
            envVars: { ...this.options.envVars, ...(ctx?.sourceIdentity ? { [SOURCE_IDENTITY_ENV]: ctx.sourceIdentity } : {}) },
            secretsProvider: this.options.secretsProvider,
        });
    }

    private async select(stack: string, create: boolean, ctx?: RunContext): Promise<Stack> {
        const ws = await this.workspace(ctx);
        return create ? Stack.createOrSelect(stack, ws) : Stack.select(stack, ws);
    }

    /** Policy pack flags for preview/up: `--policy-pack <repo>/policies --policy-pack-config <repo>/policies/config/<env>.json`. */
    policyOptions(raw: Record<string, unknown>): { policyPacks: string[]; policyPackConfigs: string[] } {
        return {
            policyPacks: [this.options.policyPackDir],
            policyPackConfigs: [path.join(this.options.policyConfigDir, `${environmentOf(raw)}.json`)],
        };
    }

    async configure(stack: string, raw: Record<string, unknown>, ctx: RunContext): Promise<OperationResult> {
        return this.guard(stack, async () => {
            const s = await this.select(stack, true);
            const current = await s.getAllConfig();
            // Secrets (ctx.secrets) replace their placeholders in `raw` and are set with --secret.
            const secrets = Object.fromEntries(Object.entries(ctx.secrets ?? {}).filter(([k]) => k in raw));
            const wanted = toConfigMap(raw, secrets);
            const removed = Object.keys(current).filter((k) => !(k in wanted));
            const changed = Object.keys(wanted).filter((k) => current[k] === undefined || !sameValue(current[k].value, wanted[k].value) || (wanted[k].secret === true && current[k].secret !== true));
            if (removed.length > 0) {
                ctx.log(`config: removing ${removed.join(", ")}`);
                await s.removeAllConfig(removed);
            }
            if (changed.length > 0) {
                ctx.log(`config: setting ${changed.join(", ")}`);
                // `config set-all --json` keeps objects as YAML maps in Pulumi.<stack>.yaml and sets every key in one call.
                await s.setAllConfigJson(JSON.stringify(Object.fromEntries(changed.map((k) => [k, k in secrets ? { value: secrets[k], secret: true } : configJsonEntry(raw[k])]))));
            }
            if (removed.length === 0 && changed.length === 0) ctx.log("config: unchanged");
            return { outcome: "succeeded", message: `stack ${stack} configured (${changed.length} set, ${removed.length} removed)` };
        });
    }

    async run(op: Operation, stack: string, raw: Record<string, unknown>, ctx: RunContext): Promise<OperationResult> {
        return this.guard(stack, async () => {
            const s = await this.select(stack, false, ctx);
            const { violations, onEvent } = policyCollector();
            const onOutput = lineSplitter(ctx.log);
            try {
                switch (op) {
                    case "preview": {
                        const r = await s.preview({ ...this.policyOptions(raw), onOutput, onEvent });
                        return { outcome: "succeeded", message: `preview of ${stack} finished`, violations, changes: r.changeSummary as Record<string, number> };
                    }
                    case "up": {
                        const r = await s.up({ ...this.policyOptions(raw), onOutput, onEvent });
                        return {
                            outcome: "succeeded",
                            message: `update of ${stack} finished`,
                            violations,
                            ...outputsResult(r.outputs),
                            changes: r.summary?.resourceChanges as Record<string, number> | undefined,
                        };
                    }
                    case "refresh": {
                        const r = await s.refresh({ onOutput, onEvent });
                        return { outcome: "succeeded", message: `refresh of ${stack} finished`, ...outputsResult(await s.outputs()), changes: r.summary?.resourceChanges as Record<string, number> | undefined };
                    }
                    case "destroy": {
                        await unprotectAll(s, stack, ctx);
                        const r = await s.destroy({ onOutput, onEvent });
                        return { outcome: "succeeded", message: `destroy of ${stack} finished`, outputs: {}, changes: r.summary?.resourceChanges as Record<string, number> | undefined };
                    }
                }
            } finally {
                onOutput.flush();
            }
        }, () => ({ violations: [] }));
    }

    /**
     * `pulumi refresh --preview-only` (Stack.previewRefresh; `refresh({ previewOnly })` is deprecated at 3.248):
     * compares the recorded state with the cloud and changes neither, nor the config. Every resource the refresh
     * would update or delete is a change; a change summary with anything but "same" means drift too.
     */
    async drift(stack: string, _raw: Record<string, unknown>, ctx: RunContext): Promise<OperationResult> {
        return this.guard(stack, async () => {
            const s = await this.select(stack, false, ctx);
            const changes: DriftChange[] = [];
            const onOutput = lineSplitter(ctx.log);
            const onEvent = (e: EngineEvent) => {
                const m = e.resourcePreEvent?.metadata;
                if (m && m.op !== "same" && m.op !== "read" && m.op !== "refresh") changes.push({ subject: m.urn, op: m.op, ...(m.diffs?.length ? { current: m.diffs } : {}) });
            };
            try {
                const r = await s.previewRefresh({ onOutput, onEvent });
                const summary = (r.changeSummary ?? {}) as Record<string, number>;
                const drifted = changes.length > 0 || Object.entries(summary).some(([op, n]) => op !== "same" && n > 0);
                return { outcome: "succeeded", message: drifted ? `drift check of ${stack}: drift found` : `drift check of ${stack}: no drift`, changes: summary, drift: { drifted, changes } };
            } finally {
                onOutput.flush();
            }
        });
    }

    async outputs(stack: string): Promise<Record<string, unknown> | undefined> {
        try {
            return unwrapOutputs(await (await this.select(stack, false)).outputs());
        } catch (err) {
            if (isNotFound(err)) return undefined;
            throw err;
        }
    }

    /** Maps the CLI's failures to results: lock held → busy, missing stack → not-found, anything else → failed. */
    private async guard(stack: string, fn: () => Promise<OperationResult>, extra: () => Partial<OperationResult> = () => ({})): Promise<OperationResult> {
        try {
            return await fn();
        } catch (err) {
            if (isBusy(err)) {
                return { outcome: "busy", message: `stack ${stack} is locked by another update; try again when it finishes (or run "pulumi cancel --stack ${stack}" if it died)` };
            }
            if (isNotFound(err)) return { outcome: "not-found", message: `stack ${stack} does not exist in ${this.options.backendUrl}` };
            return { ...extra(), outcome: "failed", message: `pulumi failed on stack ${stack}: ${errorText(err)}` };
        }
    }
}

export function isBusy(err: unknown): boolean {
    if (err instanceof ConcurrentUpdateError) return true;
    const text = err instanceof CommandError ? stderrOf(err) : "";
    return LOCK_TEXT.some((t) => text.includes(t));
}

export function isNotFound(err: unknown): boolean {
    if (err instanceof StackNotFoundError) return true;
    return err instanceof CommandError && NOT_FOUND.test(stderrOf(err));
}

/** A failure in one line or a few: the CLI's last stderr lines, else the error's message. */
export function errorText(err: unknown): string {
    return err instanceof CommandError ? lastLines(stderrOf(err)) : (err as Error)?.message ?? String(err);
}

function stderrOf(err: CommandError): string {
    const result = (err as unknown as { commandResult?: { stderr?: string } }).commandResult;
    return result?.stderr ?? err.message;
}

function lastLines(text: string, n = 5): string {
    return text.trim().split("\n").slice(-n).join("\n");
}

/** Pulumi config as `pulumi config --json` spells it; objects go as JSON text plus `objectValue`. */
export function configJsonEntry(value: unknown): { value: string; secret: boolean; objectValue?: unknown } {
    if (typeof value === "string") return { value, secret: false };
    return { value: JSON.stringify(value), secret: false, objectValue: value };
}

function toConfigMap(raw: Record<string, unknown>, secrets: Record<string, string> = {}): ConfigMap {
    const out: ConfigMap = {};
    for (const [k, v] of Object.entries(raw)) out[k] = k in secrets ? { value: secrets[k], secret: true } : { value: typeof v === "string" ? v : JSON.stringify(v) };
    return out;
}

/** Compares config values as data: key order and formatting in the stack file do not matter. */
function sameValue(a: string, b: string): boolean {
    return canonical(a) === canonical(b);
}

function canonical(text: string): string {
    try {
        return canonicalJson(JSON.parse(text));
    } catch {
        return text;
    }
}

export function unwrapOutputs(outputs: Record<string, { value: unknown }>): Record<string, unknown> {
    return Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.value]));
}

/** A run's outputs as OperationResult carries them: the values, and the names of the secret ones. */
export function outputsResult(outputs: Record<string, { value: unknown; secret?: boolean }>): Pick<OperationResult, "outputs" | "secretOutputs"> {
    return {
        outputs: unwrapOutputs(outputs),
        secretOutputs: secretOutputNames(outputs),
    };
}

/** The outputs Pulumi marks secret (OutputMap entries with secret: true). */
export function secretOutputNames(outputs: Record<string, { value: unknown; secret?: boolean }>): string[] {
    return Object.entries(outputs)
        .filter(([, v]) => v.secret === true)
        .map(([k]) => k);
}

/** The policy violations a run reports, collected from its engine events. */
export function policyCollector(): { violations: PolicyViolation[]; onEvent: (e: EngineEvent) => void } {
    const violations: PolicyViolation[] = [];
    const onEvent = (e: EngineEvent) => {
        const p = e.policyEvent;
        if (p) violations.push({ policy: p.policyName, enforcementLevel: p.enforcementLevel, urn: p.resourceUrn, message: p.message });
    };
    return { violations, onEvent };
}

/** The CLI streams chunks, not lines; the job log wants lines. */
export function lineSplitter(log: (line: string) => void): ((chunk: string) => void) & { flush(): void } {
    let pending = "";
    const fn = (chunk: string) => {
        pending += chunk;
        const lines = pending.split("\n");
        pending = lines.pop() ?? "";
        for (const line of lines) log(line.replace(/\r$/, ""));
    };
    return Object.assign(fn, {
        flush() {
            if (pending) log(pending);
            pending = "";
        },
    });
}

/**
 * Lifts `protect` from every resource of the stack (what `pulumi state unprotect --all` does), through the state
 * export/import of the Automation API. Only ever before a destroy the portal queued: for a prod stack that takes
 * the operator's explicit confirmation (DELETE /api/customers/:id?confirm=<id>); protection guards everything else
 * (a `pulumi destroy` by hand, an `up` that would replace the cluster, a key or the VPC).
 */
export async function unprotectAll(s: { exportStack(): Promise<{ version: number; deployment: any }>; importStack(state: { version: number; deployment: any }): Promise<void> }, stack: string, ctx: RunContext): Promise<number> {
    const state = await s.exportStack();
    const resources: { urn: string; protect?: boolean }[] = state.deployment?.resources ?? [];
    const guarded = resources.filter((r) => r.protect === true);
    if (guarded.length === 0) return 0;
    for (const r of guarded) delete r.protect;
    ctx.log(`deletion protection lifted on ${guarded.length} resources of ${stack} before the confirmed destroy: ${guarded.map((r) => r.urn.split("::").pop()).join(", ")}`);
    await s.importStack(state);
    return guarded.length;
}
