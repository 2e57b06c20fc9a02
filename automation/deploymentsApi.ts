// A small client of the Pulumi Cloud REST API for what the Automation API's RemoteWorkspace cannot do: a
// `detect-drift` deployment (Pulumi Deployments' preview-only refresh). `pulumi refresh --remote` cannot stand in
// for it: with --remote the CLI hands the run to deployment.RunDeployment(…, apitype.Refresh, …) and drops
// --preview-only, so it would perform a real refresh (pulumi/pulumi pkg/cmd/pulumi/operations/refresh.go).
//
// The request builders below are pure (a request is data: method, URL, headers, body) so they are tested apart
// from the HTTP. Sources, read for every route, field and value used here:
//   [basics]   https://www.pulumi.com/docs/reference/cloud-rest-api/api-basics/ — base URL https://api.pulumi.com
//              (self-hosted: its own API URL), `Authorization: token <token>`, 401 for a missing or invalid
//              token, required headers `Accept: application/vnd.pulumi+8` and `Content-Type: application/json`.
//   [deploy]   https://www.pulumi.com/docs/reference/cloud-rest-api/deployments/ (alias /docs/reference/deployments-rest-api)
//              — POST …/api/stacks/{organization}/{project}/{stack}/deployments (Create Deployment; "the stack
//              must exist", inheritSettings defaults to true), GET …/deployments/{deploymentID} (Get Deployment,
//              `status`), GET …/deployments/{deploymentID}/logs?continuationToken= (streaming logs: `lines`
//              [{header?, timestamp, line?}], `nextToken`), environment variables as plain strings or
//              `{ "secret": "…" }`.
//   [create]   https://www.pulumi.com/docs/reference/cloud-rest-api/schema/createdeploymentrequest/ — `operation`
//              (update, preview, destroy, refresh, detect-drift, remediate-drift), inheritSettings, sourceContext,
//              operationContext, agentPoolID; …/schema/createdeploymentresponse/ — id, consoleUrl, version.
//   [git]      https://www.pulumi.com/docs/reference/cloud-rest-api/schema/sourcecontextgitrequest/ — repoUrl,
//              branch, repoDir, commit, gitAuth.accessToken (a SecretValue). The hand-written [deploy] page spells
//              it `repoURL` in its examples; the generated schema and the CLI (apitype.SourceContextGit, since
//              pulumi/pulumi#16904, whose description says the service matches JSON keys case-insensitively) use
//              `repoUrl`, which is what is sent here.
//   [opctx]    https://www.pulumi.com/docs/reference/cloud-rest-api/schema/operationcontextrequest/ — preRunCommands,
//              environmentVariables (map of SecretValue), options.skipInstallDependencies,
//              options.remediateIfDriftDetected ("whether a detect-drift operation should be followed by a
//              remediate-drift step"); …/schema/secretvalue/ — `{ "secret": "<plaintext>" }`.
//   [status]   https://www.pulumi.com/docs/reference/cloud-rest-api/schema/listdeploymentsnapshot/ — deployment
//              status values: not-started, accepted, running, failed, succeeded, skipped.
//   [drift]    https://www.pulumi.com/docs/reference/cloud-rest-api/schema/driftrun/ and …/listdriftrunsresponse/ —
//              DriftRun {id, driftDetected, status, deploymentId, detectUpdate.resourceChanges (op → count)};
//              …/schema/stackdriftstatus/ — {driftDetected, latestDriftRun, runInProgress};
//              https://www.pulumi.com/docs/deployments/concepts/drift/ — a detect-drift run is a preview-only refresh.
//   The docs publish the drift *schemas* but no page found lists the *routes* that return them. The routes used
//   here are the ones the Pulumi CLI calls for `pulumi stack drift list` / `status` (pulumi/pulumi
//   pkg/backend/httpstate/client/client.go: ListDriftRuns → GET /api/stacks/{org}/{project}/{stack}/drift/runs
//   ?page=&pageSize=, GetDriftStatus → …/drift/status). If Pulumi moves them, the drift check fails with a
//   message saying so; it never guesses a result.
//   Per-resource drift: no documented route reports which resources drifted (only counts per operation, in
//   detectUpdate.resourceChanges), so a finding carries an empty change list and the counts.

export const DEFAULT_API_URL = "https://api.pulumi.com";

/** Where and as whom to call: the REST base URL (no trailing slash) and the Pulumi access token. */
export interface ApiTarget {
    apiUrl: string;
    token: string;
}

export interface StackRef {
    organization: string;
    project: string;
    stack: string;
}

export interface ApiRequest {
    method: "GET" | "POST";
    url: string;
    headers: Record<string, string>;
    body?: string;
}

/** A SecretValue as [opctx]/[deploy] spell it: a plain string, or `{ secret: "<plaintext>" }`. */
export type EnvValue = string | { secret: string };

export interface CreateDeploymentRequest {
    operation: "detect-drift" | "update" | "preview" | "refresh" | "destroy" | "remediate-drift";
    inheritSettings: boolean;
    sourceContext?: {
        git: { repoUrl?: string; branch?: string; commit?: string; repoDir?: string; gitAuth?: { accessToken: { secret: string } } };
    };
    operationContext: {
        preRunCommands: string[];
        environmentVariables: Record<string, EnvValue>;
        options: { skipInstallDependencies?: true; remediateIfDriftDetected: false };
    };
    agentPoolID?: string;
}

/** [create] CreateDeploymentResponse. */
export interface CreateDeploymentResponse {
    id: string;
    consoleUrl?: string;
    version?: number;
}

/** [status] The deployment status values. */
export type DeploymentStatus = "not-started" | "accepted" | "running" | "failed" | "succeeded" | "skipped";
export const DEPLOYMENT_STATUSES: readonly DeploymentStatus[] = ["not-started", "accepted", "running", "failed", "succeeded", "skipped"];
export const TERMINAL_STATUSES: readonly DeploymentStatus[] = ["failed", "succeeded", "skipped"];

export interface DeploymentLogs {
    lines?: { header?: string; timestamp?: string; line?: string }[];
    nextToken?: string;
}

export interface DriftRun {
    id: string;
    driftDetected: boolean;
    status: DeploymentStatus;
    deploymentId?: string;
    deploymentVersion?: number;
    detectUpdate?: { updateId: string; resourceChanges?: Record<string, number>; status: DeploymentStatus };
}

export interface ListDriftRunsResponse {
    driftRuns: DriftRun[];
    itemsPerPage?: number;
    total?: number;
}

/**
 * The REST base URL: PULUMI_BACKEND_URL when it is an https URL (a self-hosted Pulumi Cloud API, [basics]), else
 * https://api.pulumi.com. The token: PULUMI_ACCESS_TOKEN (required).
 */
export function apiTargetFromEnv(env: NodeJS.ProcessEnv = process.env): ApiTarget {
    const token = env.PULUMI_ACCESS_TOKEN ?? "";
    if (!token) throw new Error("PULUMI_ACCESS_TOKEN is required to call the Pulumi Cloud REST API");
    const backend = env.PULUMI_BACKEND_URL;
    const apiUrl = backend && /^https:\/\//.test(backend) ? backend.replace(/\/+$/, "") : DEFAULT_API_URL;
    return { apiUrl, token };
}

/** [basics] The headers every call carries. */
export function apiHeaders(token: string, withBody: boolean): Record<string, string> {
    const h: Record<string, string> = { Authorization: `token ${token}`, Accept: "application/vnd.pulumi+8" };
    if (withBody) h["Content-Type"] = "application/json";
    return h;
}

export function stackPath(s: StackRef): string {
    return `/api/stacks/${encodeURIComponent(s.organization)}/${encodeURIComponent(s.project)}/${encodeURIComponent(s.stack)}`;
}

/** [deploy] Create Deployment. */
export function createDeploymentRequest(t: ApiTarget, s: StackRef, body: CreateDeploymentRequest): ApiRequest {
    return { method: "POST", url: `${t.apiUrl}${stackPath(s)}/deployments`, headers: apiHeaders(t.token, true), body: JSON.stringify(body) };
}

/** [deploy] Get Deployment (by ID). */
export function getDeploymentRequest(t: ApiTarget, s: StackRef, id: string): ApiRequest {
    return { method: "GET", url: `${t.apiUrl}${stackPath(s)}/deployments/${encodeURIComponent(id)}`, headers: apiHeaders(t.token, false) };
}

/** [deploy] Get Deployment Logs, streaming mode: from the start, then from each response's nextToken. */
export function deploymentLogsRequest(t: ApiTarget, s: StackRef, id: string, continuationToken?: string): ApiRequest {
    const q = continuationToken ? `?continuationToken=${encodeURIComponent(continuationToken)}` : "";
    return { method: "GET", url: `${t.apiUrl}${stackPath(s)}/deployments/${encodeURIComponent(id)}/logs${q}`, headers: apiHeaders(t.token, false) };
}

/** The stack's drift runs (route as the CLI calls it, see the header; page starts at 1 as in `pulumi stack drift list`). */
export function driftRunsRequest(t: ApiTarget, s: StackRef, page = 1, pageSize = 20): ApiRequest {
    return { method: "GET", url: `${t.apiUrl}${stackPath(s)}/drift/runs?page=${page}&pageSize=${pageSize}`, headers: apiHeaders(t.token, false) };
}

export interface DetectDriftInput {
    inheritSettings: boolean;
    /** Git source; every field optional (with inheritSettings the stack's Deployment settings may hold it). */
    repoUrl?: string;
    branch?: string;
    commit?: string;
    repoDir?: string;
    gitToken?: string;
    /** The run's environment: plain values and secret values (sent as `{ secret }`, secret wins on a clash). */
    env: Record<string, string>;
    secretEnv: Record<string, string>;
    preRunCommands: string[];
    skipInstallDependencies: boolean;
    agentPoolId?: string;
}

/**
 * The body of a detect-drift deployment, built like the CLI builds `--remote` runs (pulumi/pulumi
 * pkg/cmd/pulumi/deployment/remote.go RunDeployment): source only when something of it is set, inheritSettings
 * always explicit (the API defaults it to true, [deploy]), agentPoolID only when set. remediateIfDriftDetected is
 * always false: a drift check changes nothing, even when the stack's own Deployment settings would remediate.
 */
export function detectDriftBody(i: DetectDriftInput): CreateDeploymentRequest {
    const environmentVariables: Record<string, EnvValue> = { ...i.env };
    for (const [k, v] of Object.entries(i.secretEnv)) environmentVariables[k] = { secret: v };
    const body: CreateDeploymentRequest = {
        operation: "detect-drift",
        inheritSettings: i.inheritSettings,
        operationContext: {
            preRunCommands: [...i.preRunCommands],
            environmentVariables,
            // skipInstallDependencies only when set, as the CLI sends it for the other runs (else the stack's own
            // Deployment settings decide, with inheritSettings).
            options: { ...(i.skipInstallDependencies ? { skipInstallDependencies: true as const } : {}), remediateIfDriftDetected: false },
        },
    };
    if (i.repoUrl || i.branch || i.commit || i.repoDir || i.gitToken) {
        const git: NonNullable<CreateDeploymentRequest["sourceContext"]>["git"] = {};
        if (i.repoUrl) git.repoUrl = i.repoUrl;
        if (i.branch) git.branch = i.branch;
        if (i.commit) git.commit = i.commit;
        if (i.repoDir) git.repoDir = i.repoDir;
        if (i.gitToken) git.gitAuth = { accessToken: { secret: i.gitToken } };
        body.sourceContext = { git };
    }
    if (i.agentPoolId) body.agentPoolID = i.agentPoolId;
    return body;
}

/** A non-2xx answer of the REST API. The message carries the status and the server's text, never the request. */
export class PulumiApiError extends Error {
    constructor(readonly status: number, readonly route: string, readonly serverText: string) {
        super(`${route} answered HTTP ${status}${serverText ? `: ${serverText}` : ""}`);
    }
}

export type FetchLike = (url: string, init: { method: string; headers: Record<string, string>; body?: string; signal?: AbortSignal }) => Promise<{ status: number; text(): Promise<string> }>;

/** Sends one request (Node's global fetch by default) and parses the JSON answer; non-2xx → PulumiApiError. */
export async function send<T>(req: ApiRequest, route: string, fetchImpl: FetchLike = globalThis.fetch as unknown as FetchLike, timeoutMs = 60_000): Promise<T> {
    const res = await fetchImpl(req.url, { method: req.method, headers: req.headers, body: req.body, signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    if (res.status < 200 || res.status > 299) throw new PulumiApiError(res.status, route, serverMessage(text));
    if (!text) return {} as T;
    try {
        return JSON.parse(text) as T;
    } catch {
        throw new Error(`${route} answered HTTP ${res.status} with a body that is not JSON`);
    }
}

/** The server's error text, short: its `message` field when it sends JSON, else the first 300 characters. */
function serverMessage(text: string): string {
    try {
        const j = JSON.parse(text) as { message?: unknown };
        if (typeof j.message === "string") return j.message.slice(0, 300);
    } catch {
        // not JSON
    }
    return text.trim().slice(0, 300);
}
