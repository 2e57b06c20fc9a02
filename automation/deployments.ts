// The remote engine: every preview/up/refresh/destroy runs on Pulumi Deployments through the Automation API's
// RemoteWorkspace (`pulumi <op> --remote …`), so the portal only queues and watches; the program, the provider
// plugins and the AWS credentials live in the Deployments runner (Pulumi's shared queue or a customer agent pool).
//
// Config: Deployments runs the program from git, where the customer's `Pulumi.<stack>.yaml` does not exist (the
// portal holds it). Each run therefore carries the stack's whole config as the remote environment variable
// `BYOC_STACK_CONFIG` (its secrets apart, in `BYOC_STACK_SECRETS` via `--remote-env-secret`) and a pre-run command
// sets it with `pulumi config set-all --json` in the runner before the operation starts.
import { EngineEvent, PulumiCommand, RemoteStack, RemoteWorkspace, RemoteWorkspaceOptions, RemoteGitProgramArgs } from "@pulumi/pulumi/automation";
import { configJsonEntry, isBusy, isNotFound, lastLines, secretOutputNames, stderrOf, unprotectAll, unwrapOutputs } from "./pulumi";
import { Operation, OperationResult, PolicyViolation, RunContext, StackEngine } from "./types";
import { CommandError } from "@pulumi/pulumi/automation";

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
    };
}

/** The pre-run commands that put the portal's config into the runner's stack (after the operator's own). */
export const CONFIG_PRE_RUN = 'pulumi config set-all --stack "$BYOC_STACK" --json "$BYOC_STACK_CONFIG"';
export const SECRETS_PRE_RUN = 'pulumi config set-all --stack "$BYOC_STACK" --json "$BYOC_STACK_SECRETS"';

export class DeploymentsEngine implements StackEngine {
    readonly kind = "deployments" as const;

    constructor(readonly settings: DeploymentsSettings) {}

    fullName(stack: string): string {
        return `${this.settings.organization}/${this.settings.project}/${stack}`;
    }

    /** One RemoteStack per run: the run's config travels in its remote environment. */
    async remoteStack(stack: string, raw: Record<string, unknown>, secrets: Record<string, string> = {}): Promise<RemoteStack> {
        const s = this.settings;
        const args: RemoteGitProgramArgs = { stackName: this.fullName(stack), url: s.url, projectPath: s.projectPath };
        if (s.branch) args.branch = s.branch;
        if (s.commitHash) args.commitHash = s.commitHash;
        if (s.gitToken) args.auth = { personalAccessToken: s.gitToken };
        const envVars: RemoteWorkspaceOptions["envVars"] = { ...s.env, BYOC_STACK: this.fullName(stack), BYOC_STACK_CONFIG: JSON.stringify(configJson(raw, secrets)) };
        for (const [k, v] of Object.entries(s.envSecrets)) envVars[k] = { secret: v };
        const own = Object.fromEntries(Object.entries(secrets).filter(([k]) => k in raw).map(([k, v]) => [k, { value: v, secret: true }]));
        const preRunCommands = [...s.preRunCommands, CONFIG_PRE_RUN];
        if (Object.keys(own).length > 0) {
            envVars.BYOC_STACK_SECRETS = { secret: JSON.stringify(own) };
            preRunCommands.push(SECRETS_PRE_RUN);
        }
        const remote = await RemoteWorkspace.createOrSelectStack(args, {
            envVars,
            preRunCommands,
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
        const violations: PolicyViolation[] = [];
        const onEvent = (e: EngineEvent) => {
            const p = e.policyEvent;
            if (p) violations.push({ policy: p.policyName, enforcementLevel: p.enforcementLevel, urn: p.resourceUrn, message: p.message });
        };
        let pending = "";
        const onOutput = (chunk: string) => {
            pending += chunk;
            const lines = pending.split("\n");
            pending = lines.pop() ?? "";
            for (const l of lines) ctx.log(l.replace(/\r$/, ""));
        };
        try {
            const s = await this.remoteStack(stack, raw, ctx.secrets);
            ctx.log(`pulumi ${op} --remote on Pulumi Deployments (${this.fullName(stack)}${this.settings.agentPoolId ? `, agent pool ${this.settings.agentPoolId}` : ""})`);
            switch (op) {
                case "preview": {
                    const r = await s.preview({ onOutput, onEvent });
                    return { outcome: "succeeded", message: `remote preview of ${stack} finished`, violations, changes: r.changeSummary as Record<string, number> };
                }
                case "up": {
                    const r = await s.up({ onOutput, onEvent });
                    return { outcome: "succeeded", message: `remote update of ${stack} finished`, violations, outputs: unwrapOutputs(r.outputs), secretOutputs: secretOutputNames(r.outputs), changes: r.summary?.resourceChanges as Record<string, number> | undefined };
                }
                case "refresh": {
                    const r = await s.refresh({ onOutput, onEvent });
                    const outputs = await s.outputs();
                    return { outcome: "succeeded", message: `remote refresh of ${stack} finished`, outputs: unwrapOutputs(outputs), secretOutputs: secretOutputNames(outputs), changes: r.summary?.resourceChanges as Record<string, number> | undefined };
                }
                case "destroy": {
                    await unprotectAll(s, this.fullName(stack), ctx);
                    const r = await s.destroy({ onOutput, onEvent });
                    return { outcome: "succeeded", message: `remote destroy of ${stack} finished`, outputs: {}, changes: r.summary?.resourceChanges as Record<string, number> | undefined };
                }
            }
            return { outcome: "invalid", message: `unknown operation ${op as string}` };
        } catch (err) {
            if (isBusy(err)) return { outcome: "busy", message: `stack ${this.fullName(stack)} has a deployment or update in progress; try again when it finishes` };
            if (isNotFound(err)) return { outcome: "not-found", message: `stack ${this.fullName(stack)} does not exist in Pulumi Cloud` };
            const text = err instanceof CommandError ? errorText(err) : (err as Error).message ?? String(err);
            return { outcome: "failed", message: `Pulumi Deployments failed on ${this.fullName(stack)}: ${text}`, violations };
        } finally {
            if (pending) ctx.log(pending);
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

const errorText = (err: CommandError) => lastLines(stderrOf(err));

/** For tests: RemoteWorkspace takes no PulumiCommand, so the recording fake goes in through PulumiCommand.get. */
export function usePulumiCommandForRemote(command: PulumiCommand): () => void {
    const original = PulumiCommand.get;
    (PulumiCommand as unknown as { get: typeof PulumiCommand.get }).get = async () => command;
    return () => ((PulumiCommand as unknown as { get: typeof PulumiCommand.get }).get = original);
}
