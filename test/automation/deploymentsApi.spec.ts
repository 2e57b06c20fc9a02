// The Pulumi Cloud REST request builders of the drift check, as data: routes, headers, the detect-drift body,
// the base URL and token from the environment, and how a non-2xx answer becomes an error.
import { strict as assert } from "assert";
import {
    apiHeaders,
    apiTargetFromEnv,
    createDeploymentRequest,
    DEFAULT_API_URL,
    deploymentLogsRequest,
    detectDriftBody,
    driftRunsRequest,
    getDeploymentRequest,
    PulumiApiError,
    send,
    stackPath,
} from "../../automation/deploymentsApi";

const t = { apiUrl: "https://api.pulumi.com", token: "pul-abc" };
const ref = { organization: "acme-platform", project: "byoc", stack: "globex" };

describe("automation: Pulumi Cloud REST request builders (deploymentsApi)", () => {
    it("base URL: PULUMI_BACKEND_URL when https (trailing slash dropped), else api.pulumi.com; the token is required", () => {
        assert.deepEqual(apiTargetFromEnv({ PULUMI_ACCESS_TOKEN: "x" }), { apiUrl: DEFAULT_API_URL, token: "x" });
        assert.deepEqual(apiTargetFromEnv({ PULUMI_ACCESS_TOKEN: "x", PULUMI_BACKEND_URL: "https://api.pulumi.example.com/" }), { apiUrl: "https://api.pulumi.example.com", token: "x" });
        assert.deepEqual(apiTargetFromEnv({ PULUMI_ACCESS_TOKEN: "x", PULUMI_BACKEND_URL: "file:///srv/state" }), { apiUrl: DEFAULT_API_URL, token: "x" });
        assert.throws(() => apiTargetFromEnv({}), /PULUMI_ACCESS_TOKEN is required/);
    });

    it("headers: `Authorization: token <t>`, the versioned Accept, Content-Type only with a body", () => {
        assert.deepEqual(apiHeaders("pul-abc", true), { Authorization: "token pul-abc", Accept: "application/vnd.pulumi+8", "Content-Type": "application/json" });
        assert.deepEqual(apiHeaders("pul-abc", false), { Authorization: "token pul-abc", Accept: "application/vnd.pulumi+8" });
    });

    it("routes: create, get, logs (with and without continuation token), drift runs; path parts encoded", () => {
        assert.equal(stackPath({ organization: "a b", project: "p/q", stack: "s" }), "/api/stacks/a%20b/p%2Fq/s");
        const body = detectDriftBody({ inheritSettings: false, env: {}, secretEnv: {}, preRunCommands: [], skipInstallDependencies: false });
        const c = createDeploymentRequest(t, ref, body);
        assert.deepEqual({ ...c, body: JSON.parse(c.body!) }, { method: "POST", url: "https://api.pulumi.com/api/stacks/acme-platform/byoc/globex/deployments", headers: apiHeaders("pul-abc", true), body });
        assert.deepEqual(getDeploymentRequest(t, ref, "dep-1"), { method: "GET", url: "https://api.pulumi.com/api/stacks/acme-platform/byoc/globex/deployments/dep-1", headers: apiHeaders("pul-abc", false) });
        assert.equal(deploymentLogsRequest(t, ref, "dep-1").url, "https://api.pulumi.com/api/stacks/acme-platform/byoc/globex/deployments/dep-1/logs");
        assert.equal(deploymentLogsRequest(t, ref, "dep-1", "0.2.1").url, "https://api.pulumi.com/api/stacks/acme-platform/byoc/globex/deployments/dep-1/logs?continuationToken=0.2.1");
        assert.deepEqual(driftRunsRequest(t, ref), { method: "GET", url: "https://api.pulumi.com/api/stacks/acme-platform/byoc/globex/drift/runs?page=1&pageSize=20", headers: apiHeaders("pul-abc", false) });
    });

    it("detect-drift body: secrets as { secret }, git source and auth, pool, never remediation", () => {
        assert.deepEqual(
            detectDriftBody({
                inheritSettings: true,
                repoUrl: "https://github.com/acme/byoc.git",
                commit: "0123abc",
                repoDir: "infra",
                gitToken: "ghp-x",
                env: { A: "1", S: "plain-would-be" },
                secretEnv: { S: "hidden" },
                preRunCommands: ["echo hi"],
                skipInstallDependencies: true,
                agentPoolId: "pool-1",
            }),
            {
                operation: "detect-drift",
                inheritSettings: true,
                operationContext: { preRunCommands: ["echo hi"], environmentVariables: { A: "1", S: { secret: "hidden" } }, options: { skipInstallDependencies: true, remediateIfDriftDetected: false } },
                sourceContext: { git: { repoUrl: "https://github.com/acme/byoc.git", commit: "0123abc", repoDir: "infra", gitAuth: { accessToken: { secret: "ghp-x" } } } },
                agentPoolID: "pool-1",
            },
        );
        const bare = detectDriftBody({ inheritSettings: true, env: {}, secretEnv: {}, preRunCommands: [], skipInstallDependencies: false });
        assert.ok(!("sourceContext" in bare) && !("agentPoolID" in bare));
        assert.deepEqual(bare.operationContext.options, { remediateIfDriftDetected: false }, "skipInstallDependencies only when set, like the CLI's remote runs");
    });

    it("send: JSON answers parsed; a non-2xx answer is a PulumiApiError with the server's message, not the request", async () => {
        const calls: { url: string; init: any }[] = [];
        const answer = (status: number, text: string) => async (url: string, init: any) => {
            calls.push({ url, init });
            return { status, text: async () => text };
        };
        const req = getDeploymentRequest(t, ref, "dep-1");
        assert.deepEqual(await send(req, "get deployment", answer(200, '{"id":"dep-1","status":"running"}')), { id: "dep-1", status: "running" });
        assert.equal(calls[0].url, req.url);
        assert.equal(calls[0].init.method, "GET");
        assert.deepEqual(calls[0].init.headers, req.headers);
        await assert.rejects(send(req, "get deployment", answer(401, '{"code":401,"message":"Unauthorized: No credentials provided or are invalid."}')), (e: unknown) => {
            assert.ok(e instanceof PulumiApiError);
            assert.equal(e.status, 401);
            assert.equal(e.message, "get deployment answered HTTP 401: Unauthorized: No credentials provided or are invalid.");
            assert.ok(!e.message.includes("pul-abc"));
            return true;
        });
        await assert.rejects(send(req, "get deployment", answer(200, "<html>")), /not JSON/);
    });
});
