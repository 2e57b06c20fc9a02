// The offline preview as a library: validate config, run the real program under the mock runtime, judge the
// result with the policy pack. The CLI and the portal's offline engine both call `offlinePreview`.
import { parseStackConfig, ConfigProblem, StackConfig } from "../stacks/schema";
import { toEngineConfig } from "../stacks/loader";
import { runProgram, ProgramRun } from "./runtime";
import { toStackExport, StackExport } from "./snapshot";
import type { PolicyReport } from "../policies/engine";
import type { ResolvedFlow } from "../components/flows";

export interface OfflineResult {
    /** 0 clean, 1 mandatory policy violations or a program error, 2 invalid config. */
    exitCode: 0 | 1 | 2;
    problems: ConfigProblem[];
    /** Set when the program itself failed (a component rejected its arguments, duplicate URNs, …). */
    error?: string;
    /** The error itself (a ProgramErrors when there were several), for printers that classify or trace it. */
    failure?: unknown;
    config?: StackConfig;
    run?: ProgramRun;
    snapshot?: StackExport;
    outputs?: Record<string, any>;
    flows?: ResolvedFlow[];
    policy?: PolicyReport;
    resourceCount: number;
}

/** The source identity the offline preview stands in for whoever would run `up`. */
export const OFFLINE_SOURCE_IDENTITY = "offline-preview";

export interface OfflineOptions {
    /** The instant grants are judged against; defaults to the wall clock. */
    now?: Date;
    /** Who the run stands for (the portal's requester); defaults to OFFLINE_SOURCE_IDENTITY. Never read from the environment. */
    sourceIdentity?: string;
}

export async function offlinePreview(stack: string, raw: Record<string, unknown>, opts: OfflineOptions = {}): Promise<OfflineResult> {
    const parsed = parseStackConfig(raw);
    if (!parsed.ok) return { exitCode: 2, problems: parsed.problems, resourceCount: 0 };
    const config = parsed.config;

    // Loaded here, not at the top: a config error should answer without loading the provider SDKs.
    const dataPlane: typeof import("../index") = require("../index");
    let run: ProgramRun;
    try {
        // Nobody assumes the deploy role offline: the program gets a stand-in source identity (a real `pulumi up`
        // through the deploy role reads BYOC_SOURCE_IDENTITY of whoever runs it).
        run = await runProgram(() => dataPlane(config, opts.now ?? new Date(), opts.sourceIdentity ?? OFFLINE_SOURCE_IDENTITY), { stack, config: toEngineConfig(raw), region: config.region });
    } catch (err) {
        return { exitCode: 1, problems: [], config, error: (err as Error)?.message ?? String(err), failure: err, resourceCount: 0 };
    }

    // Judge the snapshot through the same reader `byoc policy check` uses, so both see identical resources.
    const { evaluatePolicies, loadPackConfig }: typeof import("../policies/engine") = require("../policies/engine");
    const { parseSnapshot }: typeof import("../policies/snapshot") = require("../policies/snapshot");
    const snapshot = toStackExport(run);
    const resources = parseSnapshot(snapshot, `offline snapshot of ${stack}`).resources;
    const policy = evaluatePolicies(resources, {
        env: config.environment,
        config: loadPackConfig(config.environment),
        stackTags: { "byoc:customer": config.customer.id, "byoc:environment": config.environment },
    });
    return {
        exitCode: policy.mandatoryCount > 0 ? 1 : 0,
        problems: [],
        config,
        run,
        snapshot,
        outputs: run.outputs,
        flows: (run.outputs.networkFlows ?? []) as ResolvedFlow[],
        policy,
        resourceCount: run.resources.length,
    };
}

/** The offline preview of the customer-run `bootstrap/` project (`npm run preview -- --project bootstrap <stack>`). */
export interface BootstrapOfflineResult {
    /** 0 clean, 1 the program failed, 2 invalid config. */
    exitCode: 0 | 1 | 2;
    problems: import("../bootstrap/config").ConfigProblem[];
    error?: string;
    failure?: unknown;
    config?: import("../bootstrap/config").BootstrapConfig;
    run?: ProgramRun;
    snapshot?: StackExport;
    outputs?: Record<string, any>;
    resourceCount: number;
}

/**
 * Validates the bootstrap config (namespace `byoc-bootstrap:`) and runs bootstrap/index.ts under the mock runtime.
 * The data plane's policy pack is not run: its rules judge data-plane resources (tags, flows), and the bootstrap's
 * documents are judged by the IAM simulator in test/bootstrap instead.
 */
export async function offlineBootstrapPreview(stack: string, raw: Record<string, unknown>, opts: OfflineOptions = {}): Promise<BootstrapOfflineResult> {
    const { parseBootstrapConfig, PROJECT }: typeof import("../bootstrap/config") = require("../bootstrap/config");
    const now = opts.now ?? new Date();
    const parsed = parseBootstrapConfig(raw, now);
    if (!parsed.ok) return { exitCode: 2, problems: parsed.problems, resourceCount: 0 };
    const config = parsed.config;
    const program: typeof import("../bootstrap/index") = require("../bootstrap/index");
    let run: ProgramRun;
    try {
        run = await runProgram(() => program(config, now), { project: PROJECT, stack, config: toEngineConfig(raw), region: config.region });
    } catch (err) {
        return { exitCode: 1, problems: [], config, error: (err as Error)?.message ?? String(err), failure: err, resourceCount: 0 };
    }
    return { exitCode: 0, problems: [], config, run, snapshot: toStackExport(run), outputs: run.outputs, resourceCount: run.resources.length };
}
