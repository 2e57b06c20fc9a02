// The remote engine: every preview/up/refresh/destroy runs on Pulumi Deployments through the Automation API's
// RemoteWorkspace (`pulumi <op> --remote …`), so the portal only queues and watches; the program, the provider
// plugins and the AWS credentials live in the Deployments runner (Pulumi's shared queue or a customer agent pool).
//
// Config: Deployments runs the program from git, where the customer's `Pulumi.<stack>.yaml` does not exist (the
// portal holds it). Each run therefore carries the stack's whole config as the remote environment variable
// `BYOC_STACK_CONFIG` (its secrets apart, in `BYOC_STACK_SECRETS` via `--remote-env-secret`) and a pre-run command
// sets it with `pulumi config set-all --json` in the runner before the operation starts.
//
// Drift checks (`drift`) cannot go through RemoteWorkspace: `pulumi refresh --remote` ignores --preview-only and
// would really refresh (see deploymentsApi.ts). They create a `detect-drift` deployment through the Pulumi Cloud
// REST API instead, with the same source, environment, secrets, pre-run commands and agent pool as every other run.
import { RemoteStack, RemoteWorkspace, RemoteWorkspaceOptions, RemoteGitProgramArgs } from "@pulumi/pulumi/automation";
import { configJsonEntry, errorText, isBusy, isNotFound, lineSplitter, outputsResult, policyCollector, unprotectAll, unwrapOutputs } from "./pulumi";
import { Operation, OperationResult, RunContext, StackEngine } from "./types";
import { SOURCE_IDENTITY_ENV } from "../stacks/sourceIdentity";
import {
    apiTargetFromEnv,
    createDeploymentRequest,
    CreateDeploymentResponse,
    DEPLOYMENT_STATUSES,
    deploymentLogsRequest,
    DeploymentLogs,
    DeploymentStatus,
    detectDriftBody,
    DriftRun,
    driftRunsRequest,
    FetchLike,
    getDeploymentRequest,
    ListDriftRunsResponse,
    PulumiApiError,
    send,
    StackRef,
    TERMINAL_STATUSES,
} from "./deploymentsApi";

export interface DeploymentsSettings {
    organization: string;
    /** The Pulumi project name (Pulumi.yaml `name`): stacks are `<organization>/<project>/<stack>`. */
    project: string;
    /** Git source. `url` may be omitted only with `inheritSettings` (the stack's Deployment settings hold it). */
    url?: string;
    branch?: string;
    commitHash?: string;
    projectPath?: string;
    /** Token for a private repository (`--remote-git-auth-access-token`). */
    gitToken?: string;
    /** Plain environment for the run (never credentials). */
    env: Record<string, string>;
    /** Secret environment for the run (`--remote-env-secret`). */
    envSecrets: Record<string, string>;
    preRunCommands: string[];
    skipInstallDependencies: boolean;
    /** `--remote-inherit-settings`: take source, OIDC, agent pool… from the stack's Deployment settings in Pulumi Cloud. */
    inheritSettings: boolean;
    /** `--remote-agent-pool-id`: a customer-managed agent pool instead of Pulumi's shared queue. */
    agentPoolId?: string;
    /** Pulumi Cloud REST base URL for the drift check: PULUMI_BACKEND_URL (https) or https://api.pulumi.com. */
    apiUrl: string;
    /** PULUMI_ACCESS_TOKEN, for the drift check's REST calls (the CLI reads it from the environment itself). */
    accessToken: string;
}

/** How the drift check runs: tests inject the HTTP client and the wait between polls. */
export interface DeploymentsEngineOptions {
    /** Default: Node's global fetch. */
    fetch?: FetchLike;
    /** Between two status polls of a detect-drift deployment. Default 5 s. */
    driftPollMs?: number;
    /** Give up waiting for a detect-drift deployment after this long (it keeps running in Pulumi Cloud). Default 30 min. */
    driftTimeoutMs?: number;
    sleep?: (ms: number) => Promise<void>;
}

const CREDENTIAL_ENV = /^(AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN|PULUMI_ACCESS_TOKEN)$/;

/**
 * Settings from the environment: BYOC_DEPLOYMENTS_ORG (required), PULUMI_ACCESS_TOKEN (required, read by the CLI),
 * BYOC_DEPLOYMENTS_PROJECT (default "byoc"), BYOC_DEPLOYMENTS_REPO_URL, BYOC_DEPLOYMENTS_BRANCH |
 * BYOC_DEPLOYMENTS_COMMIT, BYOC_DEPLOYMENTS_PROJECT_PATH, BYOC_DEPLOYMENTS_GIT_TOKEN, BYOC_DEPLOYMENTS_AGENT_POOL_ID,
 * BYOC_DEPLOYMENTS_ENV / BYOC_DEPLOYMENTS_ENV_SECRETS (JSON objects), BYOC_DEPLOYMENTS_PRE_RUN (JSON array),
 * BYOC_DEPLOYMENTS_SKIP_INSTALL, BYOC_DEPLOYMENTS_INHERIT_SETTINGS ("true").
 */
export function deploymentsSettings(env: NodeJS.ProcessEnv = process.env): DeploymentsSettings {
    const problems: string[] = [];
    const organization = (env.BYOC_DEPLOYMENTS_ORG ?? "").trim();
    if (!organization) problems.push("BYOC_DEPLOYMENTS_ORG is required (the Pulumi Cloud organization)");
    if (!env.PULUMI_ACCESS_TOKEN) problems.push("PULUMI_ACCESS_TOKEN is required (a Pulumi Cloud token allowed to run deployments)");
    const backend = env.PULUMI_BACKEND_URL;
    if (backend && !/^https:\/\//.test(backend)) problems.push(`PULUMI_BACKEND_URL = "${backend}": Pulumi Deployments needs the Pulumi Cloud backend (unset it, or https://api.pulumi.com)`);
    const inheritSettings = env.BYOC_DEPLOYMENTS_INHERIT_SETTINGS === "true";
    const url = env.BYOC_DEPLOYMENTS_REPO_URL || undefined;
    const branch = env.BYOC_DEPLOYMENTS_BRANCH || undefined;
    const commitHash = env.BYOC_DEPLOYMENTS_COMMIT || undefined;
    if (!url && !inheritSettings) problems.push("BYOC_DEPLOYMENTS_REPO_URL is required (the git URL of this repository), unless BYOC_DEPLOYMENTS_INHERIT_SETTINGS=true");
    if (branch && commitHash) problems.push("set BYOC_DEPLOYMENTS_BRANCH or BYOC_DEPLOYMENTS_COMMIT, not both");
    if (!branch && !commitHash && !inheritSettings) problems.push("BYOC_DEPLOYMENTS_BRANCH or BYOC_DEPLOYMENTS_COMMIT is required");
    if (commitHash && !/^[0-9a-f]{7,40}$/.test(commitHash)) problems.push(`BYOC_DEPLOYMENTS_COMMIT = "${commitHash}": must be a git commit hash`);
    const json = <T>(name: string, check: (v: unknown) => v is T, fallback: T): T => {
        const text = env[name];
        if (!text) return fallback;
        try {
            const v = JSON.parse(text);
            if (check(v)) return v;
        } catch {
            // reported below
        }
        problems.push(`${name}: must be ${Array.isArray(fallback) ? "a JSON array of strings" : "a JSON object of strings"}`);
        return fallback;
    };
    const isStringMap = (v: unknown): v is Record<string, string> => v !== null && typeof v === "object" && !Array.isArray(v) && Object.values(v).every((x) => typeof x === "string");
    const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === "string");
    const plain = json("BYOC_DEPLOYMENTS_ENV", isStringMap, {});
    const envSecrets = json("BYOC_DEPLOYMENTS_ENV_SECRETS", isStringMap, {});
    const preRunCommands = json("BYOC_DEPLOYMENTS_PRE_RUN", isStrings, []);
    for (const k of Object.keys(plain)) {
        if (CREDENTIAL_ENV.test(k)) problems.push(`BYOC_DEPLOYMENTS_ENV.${k}: credentials never go in plain run environment; AWS credentials come from OIDC in the stack's Deployment settings`);
    }
    for (const k of [...Object.keys(plain), ...Object.keys(envSecrets)]) {
        if (k === "BYOC_STACK_CONFIG" || k === "BYOC_STACK_SECRETS") problems.push(`${k} is set by the portal for every run`);
    }
    if (problems.length > 0) throw new Error(`BYOC_ENGINE=deployments: ${problems.join("; ")}`);
    return {
        organization,
        project: env.BYOC_DEPLOYMENTS_PROJECT || "byoc",
        url,
        branch,
        commitHash,
        projectPath: env.BYOC_DEPLOYMENTS_PROJECT_PATH || undefined,
        gitToken: env.BYOC_DEPLOYMENTS_GIT_TOKEN || undefined,
        env: plain,
        envSecrets,
        preRunCommands,
        skipInstallDependencies: env.BYOC_DEPLOYMENTS_SKIP_INSTALL === "true",
        inheritSettings,
        agentPoolId: env.BYOC_DEPLOYMENTS_AGENT_POOL_ID || undefined,
        apiUrl: apiTargetFromEnv(env).apiUrl,
        accessToken: env.PULUMI_ACCESS_TOKEN ?? "",
    };
}

/** The pre-run commands that put the portal's config into the runner's stack (after the operator's own). */
export const CONFIG_PRE_RUN = 'pulumi config set-all --stack "$BYOC_STACK" --json "$BYOC_STACK_CONFIG"';
export const SECRETS_PRE_RUN = 'pulumi config set-all --stack "$BYOC_STACK" --json "$BYOC_STACK_SECRETS"';

export class DeploymentsEngine implements StackEngine {
    readonly kind = "deployments" as const;

    constructor(
        readonly settings: DeploymentsSettings,
        readonly options: DeploymentsEngineOptions = {},
    ) {}

    fullName(stack: string): string {
        return `${this.settings.organization}/${this.settings.project}/${stack}`;
    }

    /**
     * What every run of the stack carries, remote CLI runs and detect-drift deployments alike: the operator's plain
     * and secret environment, BYOC_STACK, the stack's config in BYOC_STACK_CONFIG (its secret keys apart, in the
     * secret BYOC_STACK_SECRETS), and the pre-run commands that apply it.
     */
    runEnvironment(stack: string, raw: Record<string, unknown>, secrets: Record<string, string> = {}, sourceIdentity?: string): { env: Record<string, string>; secretEnv: Record<string, string>; preRunCommands: string[] } {
        const s = this.settings;
        const env: Record<string, string> = { ...s.env, BYOC_STACK: this.fullName(stack), BYOC_STACK_CONFIG: JSON.stringify(configJson(raw, secrets)) };
        // Who asked for the run: the deploy role's session names them in the customer's CloudTrail.
        if (sourceIdentity) env[SOURCE_IDENTITY_ENV] = sourceIdentity;
        const secretEnv: Record<string, string> = { ...s.envSecrets };
        const own = Object.fromEntries(Object.entries(secrets).filter(([k]) => k in raw).map(([k, v]) => [k, { value: v, secret: true }]));
        const preRunCommands = [...s.preRunCommands, CONFIG_PRE_RUN];
        if (Object.keys(own).length > 0) {
            secretEnv.BYOC_STACK_SECRETS = JSON.stringify(own);
            preRunCommands.push(SECRETS_PRE_RUN);
        }
        return { env, secretEnv, preRunCommands };
    }

    /** Masks in a log line every secret a run of this engine carries: secret env, config secrets, git and Pulumi tokens. */
    private masker(ctx: RunContext): (line: string) => string {
        const s = this.settings;
        return masker([...Object.values(s.envSecrets), ...Object.values(ctx.secrets ?? {}), s.gitToken, s.accessToken]);
    }

    /** One RemoteStack per run: the run's config travels in its remote environment. */
    async remoteStack(stack: string, raw: Record<string, unknown>, secrets: Record<string, string> = {}, sourceIdentity?: string): Promise<RemoteStack> {
        const s = this.settings;
        const args: RemoteGitProgramArgs = { stackName: this.fullName(stack), url: s.url, projectPath: s.projectPath };
        if (s.branch) args.branch = s.branch;
        if (s.commitHash) args.commitHash = s.commitHash;
        if (s.gitToken) args.auth = { personalAccessToken: s.gitToken };
        const run = this.runEnvironment(stack, raw, secrets, sourceIdentity);
        const envVars: RemoteWorkspaceOptions["envVars"] = { ...run.env };
        for (const [k, v] of Object.entries(run.secretEnv)) envVars[k] = { secret: v };
        const remote = await RemoteWorkspace.createOrSelectStack(args, {
            envVars,
            preRunCommands: run.preRunCommands,
            skipInstallDependencies: s.skipInstallDependencies,
            inheritSettings: s.inheritSettings,
        });
        if (s.agentPoolId) withAgentPool(remote, s.agentPoolId);
        return remote;
    }

    /** Nothing to do ahead of a run: the config goes with every run (see above); the stack is created on first use. */
    async configure(stack: string, raw: Record<string, unknown>, ctx: RunContext): Promise<OperationResult> {
        ctx.log(`config: ${Object.keys(raw).length} keys travel with each remote run of ${this.fullName(stack)}`);
        return { outcome: "succeeded", message: `stack ${stack} configured (applied in the Deployments runner at each run)` };
    }

    async run(op: Operation, stack: string, raw: Record<string, unknown>, ctx: RunContext): Promise<OperationResult> {
        const { violations, onEvent } = policyCollector();
        // The remote run's log, as the drift check's: every secret value this engine sent masked.
        const mask = this.masker(ctx);
        const onOutput = lineSplitter((line) => ctx.log(mask(line)));
        try {
            const s = await this.remoteStack(stack, raw, ctx.secrets, ctx.sourceIdentity);
            ctx.log(`pulumi ${op} --remote on Pulumi Deployments (${this.fullName(stack)}${this.settings.agentPoolId ? `, agent pool ${this.settings.agentPoolId}` : ""})`);
            switch (op) {
                case "preview": {
                    const r = await s.preview({ onOutput, onEvent });
                    return { outcome: "succeeded", message: `remote preview of ${stack} finished`, violations, changes: r.changeSummary as Record<string, number> };
                }
                case "up": {
                    const r = await s.up({ onOutput, onEvent });
                    return { outcome: "succeeded", message: `remote update of ${stack} finished`, violations, ...outputsResult(r.outputs), changes: r.summary?.resourceChanges as Record<string, number> | undefined };
                }
                case "refresh": {
                    const r = await s.refresh({ onOutput, onEvent });
                    return { outcome: "succeeded", message: `remote refresh of ${stack} finished`, ...outputsResult(await s.outputs()), changes: r.summary?.resourceChanges as Record<string, number> | undefined };
                }
                case "destroy": {
                    await unprotectAll(s, this.fullName(stack), ctx);
                    const r = await s.destroy({ onOutput, onEvent });
                    return { outcome: "succeeded", message: `remote destroy of ${stack} finished`, outputs: {}, changes: r.summary?.resourceChanges as Record<string, number> | undefined };
                }
            }
        } catch (err) {
            if (isBusy(err)) return { outcome: "busy", message: `stack ${this.fullName(stack)} has a deployment or update in progress; try again when it finishes` };
            if (isNotFound(err)) return { outcome: "not-found", message: `stack ${this.fullName(stack)} does not exist in Pulumi Cloud` };
            return { outcome: "failed", message: mask(`Pulumi Deployments failed on ${this.fullName(stack)}: ${errorText(err)}`), violations };
        } finally {
            onOutput.flush();
        }
    }

    async outputs(stack: string): Promise<Record<string, unknown> | undefined> {
        try {
            const s = await RemoteWorkspace.selectStack({ stackName: this.fullName(stack), url: this.settings.url, branch: this.settings.branch, commitHash: this.settings.commitHash, projectPath: this.settings.projectPath }, { inheritSettings: this.settings.inheritSettings });
            return unwrapOutputs(await s.outputs());
        } catch (err) {
            if (isNotFound(err)) return undefined;
            throw err;
        }
    }

    /**
     * A drift check that changes nothing: a `detect-drift` deployment (Pulumi Deployments' preview-only refresh,
     * https://www.pulumi.com/docs/deployments/concepts/drift/) with this engine's source, run environment, secrets,
     * pre-run commands and agent pool; polled until it ends, its logs streamed into ctx.log (secret values
     * masked); then the stack's drift run of that deployment read for the finding. The routes, fields and
     * statuses, and where the docs are silent, are in deploymentsApi.ts.
     */
    async drift(stack: string, raw: Record<string, unknown>, ctx: RunContext): Promise<OperationResult> {
        const s = this.settings;
        const full = this.fullName(stack);
        const ref: StackRef = { organization: s.organization, project: s.project, stack };
        const target = { apiUrl: s.apiUrl, token: s.accessToken };
        const run = this.runEnvironment(stack, raw, ctx.secrets, ctx.sourceIdentity);
        const mask = this.masker(ctx);
        const log = (line: string) => ctx.log(mask(line));
        const fetchImpl = this.options.fetch;
        const pollMs = this.options.driftPollMs ?? 5_000;
        const timeoutMs = this.options.driftTimeoutMs ?? 30 * 60_000;
        const sleep = this.options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
        const started = Date.now();
        const failure = (err: unknown, phase: "create" | "follow"): OperationResult => {
            const r = driftFailure(err, full, phase);
            return { ...r, message: mask(r.message) };
        };

        let created: CreateDeploymentResponse;
        try {
            const body = detectDriftBody({
                inheritSettings: s.inheritSettings,
                repoUrl: s.url,
                branch: s.branch,
                commit: s.commitHash,
                repoDir: s.projectPath,
                gitToken: s.gitToken,
                env: run.env,
                secretEnv: run.secretEnv,
                preRunCommands: run.preRunCommands,
                skipInstallDependencies: s.skipInstallDependencies,
                agentPoolId: s.agentPoolId,
            });
            created = await send<CreateDeploymentResponse>(createDeploymentRequest(target, ref, body), "create deployment", fetchImpl);
        } catch (err) {
            return failure(err, "create");
        }
        const id = created.id;
        if (typeof id !== "string" || !id) return { outcome: "failed", message: `drift check of ${full}: Pulumi Cloud created a deployment but answered no deployment id` };
        const where = created.consoleUrl ? ` (${created.consoleUrl})` : "";
        log(`detect-drift deployment ${id} on Pulumi Deployments (${full}${s.agentPoolId ? `, agent pool ${s.agentPoolId}` : ""})${where}`);

        try {
            // Streaming logs: from the start, then from each nextToken; an empty nextToken means no more logs.
            let token: string | undefined;
            let logsOpen = true;
            const pullLogs = async (): Promise<boolean> => {
                if (!logsOpen) return false;
                let logs: DeploymentLogs;
                try {
                    logs = await send<DeploymentLogs>(deploymentLogsRequest(target, ref, id, token), "deployment logs", fetchImpl);
                } catch (err) {
                    if (err instanceof PulumiApiError && (err.status === 401 || err.status === 403)) throw err;
                    logsOpen = false;
                    log(`deployment logs unavailable (${(err as Error).message}); following the deployment's status only`);
                    return false;
                }
                const lines = logs.lines ?? [];
                for (const l of lines) {
                    if (l.header) log(`${l.header}:`);
                    if (l.line) for (const part of l.line.replace(/\r?\n$/, "").split("\n")) log(part.replace(/\r$/, ""));
                }
                const moved = lines.length > 0 || (logs.nextToken ?? "") !== (token ?? "");
                if (!logs.nextToken) logsOpen = false;
                else token = logs.nextToken;
                return moved;
            };
            // Every page there is right now (bounded), so a long log does not fall behind the polls.
            const drainLogs = async (maxPages: number) => {
                for (let i = 0; i < maxPages && (await pullLogs()); i++);
            };

            let status: DeploymentStatus;
            for (;;) {
                await drainLogs(20);
                const d = await send<{ status?: unknown }>(getDeploymentRequest(target, ref, id), "get deployment", fetchImpl);
                if (!DEPLOYMENT_STATUSES.includes(d.status as DeploymentStatus)) {
                    return { outcome: "failed", message: `drift check of ${full}: deployment ${id} has status ${JSON.stringify(d.status)}, not one Pulumi documents (${DEPLOYMENT_STATUSES.join(", ")})` };
                }
                status = d.status as DeploymentStatus;
                if (TERMINAL_STATUSES.includes(status)) break;
                if (Date.now() - started >= timeoutMs) {
                    return { outcome: "failed", message: `drift check of ${full}: detect-drift deployment ${id} still ${status} after ${Math.round(timeoutMs / 1000)} s; it goes on in Pulumi Cloud${where}` };
                }
                await sleep(pollMs);
            }
            // The rest of the logs (bounded: a finished deployment's log ends with an empty nextToken).
            await drainLogs(200);

            if (status === "failed") return { outcome: "failed", message: `drift check of ${full}: detect-drift deployment ${id} failed${where}` };
            if (status === "skipped") return { outcome: "busy", message: `drift check of ${full}: Pulumi Deployments skipped deployment ${id} (another deployment of the stack took its turn); try again` };

            const found = await this.driftRunOf(target, ref, id, fetchImpl, sleep, pollMs);
            if (!found) {
                return { outcome: "failed", message: `drift check of ${full}: deployment ${id} succeeded but GET ${driftRunsRequest(target, ref).url.replace(s.apiUrl, "")} lists no finished drift run for it (that route is the CLI's, not in Pulumi's REST docs: check it still exists)` };
            }
            if (typeof found.driftDetected !== "boolean") return { outcome: "failed", message: `drift check of ${full}: drift run ${found.id} has no driftDetected flag` };
            if (found.status !== "succeeded") return { outcome: "failed", message: `drift check of ${full}: drift run ${found.id} of deployment ${id} ended ${found.status}${where}` };
            const counts = found.detectUpdate?.resourceChanges;
            const drifted = found.driftDetected;
            const summary = counts ? Object.entries(counts).filter(([op, n]) => op !== "same" && n > 0).map(([op, n]) => `${op} ${n}`).join(", ") : "";
            log(`drift run ${found.id}: ${drifted ? "drift detected" : "no drift"}${summary ? ` (${summary})` : ""}; Pulumi Cloud reports counts per operation, not which resources`);
            return {
                outcome: "succeeded",
                message: drifted ? `drift check of ${stack}: drift found` : `drift check of ${stack}: no drift`,
                ...(counts ? { changes: counts } : {}),
                drift: { drifted, changes: [] },
            };
        } catch (err) {
            return failure(err, "follow");
        }
    }

    /** The drift run Pulumi Cloud recorded for deployment `id`, once finished (a few tries: it may lag the deployment). */
    private async driftRunOf(target: { apiUrl: string; token: string }, ref: StackRef, id: string, fetchImpl: FetchLike | undefined, sleep: (ms: number) => Promise<void>, pollMs: number): Promise<DriftRun | undefined> {
        let last: DriftRun | undefined;
        for (let attempt = 0; attempt < 3; attempt++) {
            if (attempt > 0) await sleep(pollMs);
            const page = await send<ListDriftRunsResponse>(driftRunsRequest(target, ref), "drift runs", fetchImpl);
            if (!Array.isArray(page.driftRuns)) throw new Error("the drift runs answer has no driftRuns list");
            last = page.driftRuns.find((r) => r.deploymentId === id);
            if (last && TERMINAL_STATUSES.includes(last.status)) return last;
        }
        return last && TERMINAL_STATUSES.includes(last.status) ? last : undefined;
    }
}

/**
 * REST failures of a drift check as results: token refused → failed (naming PULUMI_ACCESS_TOKEN); creating the
 * deployment refused with 404 → not-found, with 409 → busy. A 404 later (deployment, logs, drift runs) is a
 * failure naming the route, not "no such stack".
 */
function driftFailure(err: unknown, full: string, phase: "create" | "follow"): OperationResult {
    if (err instanceof PulumiApiError) {
        if (err.status === 401 || err.status === 403) {
            return { outcome: "failed", message: `Pulumi Cloud refused PULUMI_ACCESS_TOKEN (HTTP ${err.status} on ${err.route}) for ${full}: the token is missing, invalid, or not allowed to run deployments on this stack` };
        }
        // The docs say only that the stack must exist before a deployment is created ("the request will return an
        // error"), not with which status; 404 is read as "no such stack". Deployments of a busy stack are queued
        // (see skipIntermediateDeployments in the docs), so a 409 may never come; if it does, it means busy.
        if (err.status === 404 && phase === "create") return { outcome: "not-found", message: `stack ${full} does not exist in Pulumi Cloud (${err.message})` };
        if (err.status === 409) return { outcome: "busy", message: `stack ${full} has a deployment or update in progress; try again when it finishes (${err.message})` };
        return { outcome: "failed", message: `Pulumi Deployments drift check of ${full} failed: ${err.message}` };
    }
    // fetch's own failures (refused connection, DNS, TLS) say "fetch failed" and keep the reason in `cause`.
    const e = err as Error & { cause?: { message?: string; code?: string } };
    const cause = e?.cause?.code ?? e?.cause?.message;
    return { outcome: "failed", message: `Pulumi Deployments drift check of ${full} failed: ${e?.message ?? String(err)}${cause ? ` (${cause})` : ""}` };
}

/** Replaces every known secret value in a line, as written and as JSON-escaped (BYOC_STACK_SECRETS holds them as JSON). */
function masker(values: (string | undefined)[]): (line: string) => string {
    const given = values.filter((v): v is string => typeof v === "string" && v.length > 0);
    const secrets = [...new Set([...given, ...given.map((v) => JSON.stringify(v).slice(1, -1))])].filter((v) => v.length > 0).sort((a, b) => b.length - a.length);
    return (line) => secrets.reduce((l, v) => l.split(v).join("[secret]"), line);
}

/**
 * `--remote-agent-pool-id=<id>` on every remote operation. The CLI has the flag; the Node SDK's RemoteWorkspace
 * (3.248.0) has no option for it, so the workspace's remote argument list is extended. If a later SDK changes
 * that internal, this fails loudly instead of running on the shared queue.
 */
function withAgentPool(remote: RemoteStack, pool: string): void {
    const ws = (remote as unknown as { stack?: { workspace?: { remoteArgs?: () => string[] } } }).stack?.workspace;
    const original = ws?.remoteArgs;
    if (!ws || typeof original !== "function") throw new Error("this @pulumi/pulumi version has no RemoteWorkspace internals to pass --remote-agent-pool-id; set the agent pool in the stack's Deployment settings and BYOC_DEPLOYMENTS_INHERIT_SETTINGS=true");
    ws.remoteArgs = () => [...original.call(ws), `--remote-agent-pool-id=${pool}`];
}

/** `pulumi config set-all --json` entries for the plain keys (secret keys go in BYOC_STACK_SECRETS). */
function configJson(raw: Record<string, unknown>, secrets: Record<string, string>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(raw)) {
        if (k in secrets) continue;
        out[k] = configJsonEntry(v);
    }
    return out;
}
