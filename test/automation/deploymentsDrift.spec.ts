// The deployments engine's drift check against a loopback fake Pulumi Cloud: the exact detect-drift request
// (route, headers, body: source, run environment with its secrets marked secret, pre-run commands, agent pool),
// the polling of the deployment and its logs, the drift run read for the finding, and how a refused token, a
// missing stack and a busy one come back. Secrets never reach the job log. Then the same engine behind the portal:
// an on-demand drift check and a scheduled one record the finding on the customer.
import { strict as assert } from "assert";
import { DeploymentsEngine, deploymentsSettings, RunContext } from "../../automation";
import { CONFIG_PRE_RUN, DeploymentsEngineOptions, SECRETS_PRE_RUN } from "../../automation/deployments";
import { FakePulumi, usePulumiCommandForRemote } from "./fakePulumi";
import { FakePulumiCloud, Scenario } from "./fakePulumiCloud";
import * as helpers from "../portal/helpers";

const ENV = {
    BYOC_ENGINE: "deployments",
    PULUMI_ACCESS_TOKEN: "pul-test-token",
    BYOC_DEPLOYMENTS_ORG: "acme-platform",
    BYOC_DEPLOYMENTS_REPO_URL: "https://github.com/acme/byoc-dataplane.git",
    BYOC_DEPLOYMENTS_BRANCH: "refs/heads/main",
    BYOC_DEPLOYMENTS_PROJECT_PATH: ".",
    BYOC_DEPLOYMENTS_ENV: JSON.stringify({ AWS_REGION: "eu-west-1" }),
    BYOC_DEPLOYMENTS_ENV_SECRETS: JSON.stringify({ TAILSCALE_OAUTH_CLIENT_SECRET: "tskey-x" }),
    BYOC_DEPLOYMENTS_PRE_RUN: JSON.stringify(["npm ci --workspaces"]),
    BYOC_DEPLOYMENTS_AGENT_POOL_ID: "pool-eu-1",
};

const raw = { "aws:region": "eu-west-1", "byoc:environment": "prod", "byoc:network": { vpcCidr: "10.20.0.0/20" }, "tailscale:oauthClientSecret": { secure: "[secret]" } };
const SECRET = "s3cret-oauth-value";

function scenario(over: Partial<Scenario> = {}): Scenario {
    return {
        org: "acme-platform",
        project: "byoc",
        stack: "globex",
        create: { status: 200, body: { id: "dep-1", consoleUrl: "https://app.pulumi.com/acme-platform/byoc/globex/deployments/7", version: 7 } },
        statuses: ["accepted", "running", "succeeded"],
        logs: {
            "": { lines: [{ header: "Get source", timestamp: "2026-12-01T12:00:00Z" }, { timestamp: "2026-12-01T12:00:01Z", line: "Cloning into 'source'...\n" }], nextToken: "1" },
            "1": { lines: [{ header: "pulumi refresh --preview-only" }, { line: `env dump: TOKEN=${SECRET} TS=tskey-x\r\n` }], nextToken: "2" },
            "2": { lines: [{ line: "Resources:\n    40 unchanged\n" }], nextToken: "" },
        },
        driftRuns: [{ status: 200, body: { driftRuns: [run("dr-0", "dep-0", false), run("dr-1", "dep-1", false)], itemsPerPage: 20, total: 2 } }],
        ...over,
    };
}

function run(id: string, deploymentId: string, driftDetected: boolean, resourceChanges?: Record<string, number>, status = "succeeded") {
    return { id, deploymentId, driftDetected, created: "2026-12-01T12:00:00Z", status, ...(resourceChanges ? { detectUpdate: { updateId: `u-${id}`, resourceChanges, modified: "2026-12-01T12:01:00Z", status } } : {}) };
}

describe("automation: deployments engine drift check (detect-drift deployment, loopback Pulumi Cloud)", () => {
    let cloud: FakePulumiCloud;
    let sleeps: number[];
    let lines: string[];
    let ctx: RunContext;

    const engine = (env: Record<string, string> = ENV, opts: DeploymentsEngineOptions = {}) =>
        new DeploymentsEngine({ ...deploymentsSettings(env), apiUrl: cloud.url }, { driftPollMs: 7, sleep: async (ms) => void sleeps.push(ms), ...opts });

    beforeEach(async () => {
        cloud = await new FakePulumiCloud(scenario()).start();
        sleeps = [];
        lines = [];
        ctx = { log: (l) => lines.push(l), secrets: { "tailscale:oauthClientSecret": SECRET } };
    });
    afterEach(() => cloud.close());

    const noSecretLogged = () => {
        for (const l of lines) {
            assert.ok(!l.includes(SECRET), `secret in the log: ${l}`);
            assert.ok(!l.includes("tskey-x"), `secret env in the log: ${l}`);
            assert.ok(!l.includes("pul-test-token"), `token in the log: ${l}`);
        }
    };

    it("creates a detect-drift deployment with the exact route, headers and body the other runs use", async () => {
        const r = await engine().drift("globex", raw, ctx);
        assert.equal(r.outcome, "succeeded", r.message);
        const [create] = cloud.of("create");
        assert.equal(create.method, "POST");
        assert.equal(create.url, "/api/stacks/acme-platform/byoc/globex/deployments");
        assert.equal(create.headers.authorization, "token pul-test-token");
        assert.equal(create.headers.accept, "application/vnd.pulumi+8");
        assert.equal(create.headers["content-type"], "application/json");
        const config = JSON.stringify({
            "aws:region": { value: "eu-west-1", secret: false },
            "byoc:environment": { value: "prod", secret: false },
            "byoc:network": { value: '{"vpcCidr":"10.20.0.0/20"}', secret: false, objectValue: { vpcCidr: "10.20.0.0/20" } },
        });
        const secrets = JSON.stringify({ "tailscale:oauthClientSecret": { value: SECRET, secret: true } });
        assert.deepEqual(create.body, {
            operation: "detect-drift",
            inheritSettings: false,
            operationContext: {
                preRunCommands: ["npm ci --workspaces", CONFIG_PRE_RUN, SECRETS_PRE_RUN],
                environmentVariables: {
                    AWS_REGION: "eu-west-1",
                    BYOC_STACK: "acme-platform/byoc/globex",
                    BYOC_STACK_CONFIG: config,
                    TAILSCALE_OAUTH_CLIENT_SECRET: { secret: "tskey-x" },
                    BYOC_STACK_SECRETS: { secret: secrets },
                },
                options: { remediateIfDriftDetected: false },
            },
            sourceContext: { git: { repoUrl: "https://github.com/acme/byoc-dataplane.git", branch: "refs/heads/main", repoDir: "." } },
            agentPoolID: "pool-eu-1",
        });
        // The config secret travels only inside the secret-marked BYOC_STACK_SECRETS, never in a plain value.
        for (const [k, v] of Object.entries(create.body.operationContext.environmentVariables)) {
            if (typeof v === "string") assert.ok(!v.includes(SECRET), `plain ${k} carries the secret`);
        }
        // Every later call carries the token too, and none carries a body.
        for (const q of cloud.requests.slice(1)) {
            assert.equal(q.method, "GET");
            assert.equal(q.headers.authorization, "token pul-test-token");
            assert.equal(q.body, undefined);
        }
    });

    it("polls the deployment until it ends, streams its logs with the continuation token, secrets masked", async () => {
        const r = await engine().drift("globex", raw, ctx);
        assert.equal(r.outcome, "succeeded", r.message);
        assert.deepEqual(cloud.of("get").map((q) => q.url), Array(3).fill("/api/stacks/acme-platform/byoc/globex/deployments/dep-1"));
        assert.deepEqual(sleeps, [7, 7], "one poll interval between status reads, none after the end");
        assert.deepEqual(cloud.of("logs").map((q) => q.url), [
            "/api/stacks/acme-platform/byoc/globex/deployments/dep-1/logs",
            "/api/stacks/acme-platform/byoc/globex/deployments/dep-1/logs?continuationToken=1",
            "/api/stacks/acme-platform/byoc/globex/deployments/dep-1/logs?continuationToken=2",
        ]);
        assert.deepEqual(cloud.of("drift").map((q) => q.url), ["/api/stacks/acme-platform/byoc/globex/drift/runs?page=1&pageSize=20"]);
        assert.match(lines[0], /^detect-drift deployment dep-1 on Pulumi Deployments \(acme-platform\/byoc\/globex, agent pool pool-eu-1\) \(https:\/\/app\.pulumi\.com\/.*\/7\)$/);
        assert.deepEqual(lines.slice(1, 8), ["Get source:", "Cloning into 'source'...", "pulumi refresh --preview-only:", "env dump: TOKEN=[secret] TS=[secret]", "Resources:", "    40 unchanged", "drift run dr-1: no drift; Pulumi Cloud reports counts per operation, not which resources"]);
        noSecretLogged();
    });

    it("no drift: the deployment's own drift run (matched by deploymentId) says so", async () => {
        cloud.scenario.driftRuns = [{ status: 200, body: { driftRuns: [run("dr-0", "dep-0", true), run("dr-1", "dep-1", false, { same: 40 })] } }];
        const r = await engine().drift("globex", raw, ctx);
        assert.deepEqual(r, { outcome: "succeeded", message: "drift check of globex: no drift", changes: { same: 40 }, drift: { drifted: false, changes: [] } });
    });

    it("drift found: driftDetected with the counts Pulumi Cloud reports (no per-resource list: the API gives none)", async () => {
        cloud.scenario.driftRuns = [
            { status: 200, body: { driftRuns: [run("dr-0", "dep-0", false)] } }, // not recorded yet: asked again
            { status: 200, body: { driftRuns: [run("dr-1", "dep-1", true, { same: 38, update: 1, delete: 1 }), run("dr-0", "dep-0", false)] } },
        ];
        const r = await engine().drift("globex", raw, ctx);
        assert.deepEqual(r, { outcome: "succeeded", message: "drift check of globex: drift found", changes: { same: 38, update: 1, delete: 1 }, drift: { drifted: true, changes: [] } });
        assert.equal(cloud.of("drift").length, 2);
        assert.ok(lines.includes("drift run dr-1: drift detected (update 1, delete 1); Pulumi Cloud reports counts per operation, not which resources"));
        noSecretLogged();
    });

    it("a refused token is a failure naming PULUMI_ACCESS_TOKEN (401 and 403), nothing polled", async () => {
        for (const status of [401, 403]) {
            cloud.requests.length = 0;
            cloud.scenario.create = { status, body: { code: status, message: "Unauthorized: No credentials provided or are invalid." } };
            const r = await engine().drift("globex", raw, ctx);
            assert.equal(r.outcome, "failed");
            assert.match(r.message, new RegExp(`Pulumi Cloud refused PULUMI_ACCESS_TOKEN \\(HTTP ${status} on create deployment\\) for acme-platform/byoc/globex`));
            assert.ok(!r.message.includes("pul-test-token"));
            assert.equal(cloud.requests.length, 1);
        }
        // Refused later (a token revoked mid-run): the same failure.
        cloud.scenario.create = scenario().create;
        cloud.scenario.driftRuns = [{ status: 401, body: { code: 401, message: "Unauthorized" } }];
        const r = await engine().drift("globex", raw, ctx);
        assert.equal(r.outcome, "failed");
        assert.match(r.message, /refused PULUMI_ACCESS_TOKEN \(HTTP 401 on drift runs\)/);
    });

    it("a missing stack is not-found (404), a busy one is busy (409)", async () => {
        cloud.scenario.create = { status: 404, body: { code: 404, message: "Not Found: Stack 'acme-platform/byoc/globex' not found" } };
        let r = await engine().drift("globex", raw, ctx);
        assert.equal(r.outcome, "not-found", r.message);
        assert.match(r.message, /stack acme-platform\/byoc\/globex does not exist in Pulumi Cloud/);
        cloud.scenario.create = { status: 409, body: { code: 409, message: "Conflict: Another update is currently in progress." } };
        r = await engine().drift("globex", raw, ctx);
        assert.equal(r.outcome, "busy", r.message);
        assert.match(r.message, /has a deployment or update in progress; try again/);
        assert.equal(cloud.of("get").length, 0);
    });

    it("a failed or skipped deployment, an unknown status, a missing drift run and a timeout all fail loudly", async () => {
        cloud.scenario.statuses = ["running", "failed"];
        let r = await engine().drift("globex", raw, ctx);
        assert.deepEqual([r.outcome, r.message], ["failed", "drift check of acme-platform/byoc/globex: detect-drift deployment dep-1 failed (https://app.pulumi.com/acme-platform/byoc/globex/deployments/7)"]);
        assert.equal(cloud.of("drift").length, 0, "no finding read from a failed run");

        cloud.scenario.statuses = ["skipped"];
        r = await engine().drift("globex", raw, ctx);
        assert.equal(r.outcome, "busy", r.message);

        cloud.scenario.statuses = ["queued"];
        r = await engine().drift("globex", raw, ctx);
        assert.equal(r.outcome, "failed");
        assert.match(r.message, /status "queued", not one Pulumi documents/);

        cloud.scenario.statuses = ["succeeded"];
        cloud.scenario.driftRuns = [{ status: 200, body: { driftRuns: [run("dr-0", "dep-0", false)] } }];
        r = await engine().drift("globex", raw, ctx);
        assert.equal(r.outcome, "failed");
        assert.match(r.message, /deployment dep-1 succeeded but GET \/api\/stacks\/acme-platform\/byoc\/globex\/drift\/runs\?page=1&pageSize=20 lists no finished drift run for it/);
        assert.equal(r.drift, undefined, "no finding without a drift run");

        cloud.scenario.driftRuns = [{ status: 200, body: { driftRuns: [run("dr-1", "dep-1", true, { update: 1 }, "failed")] } }];
        r = await engine().drift("globex", raw, ctx);
        assert.equal(r.outcome, "failed");
        assert.match(r.message, /drift run dr-1 of deployment dep-1 ended failed/);

        cloud.scenario.statuses = ["running"];
        r = await engine(ENV, { driftTimeoutMs: 0 }).drift("globex", raw, ctx);
        assert.equal(r.outcome, "failed");
        assert.match(r.message, /detect-drift deployment dep-1 still running after 0 s; it goes on in Pulumi Cloud/);
        noSecretLogged();
    });

    it("logs the API cannot give are noted once and the check goes on; an unreachable Pulumi Cloud is a failure with the reason", async () => {
        cloud.scenario.logsError = 500;
        const r = await engine().drift("globex", raw, ctx);
        assert.equal(r.outcome, "succeeded", r.message);
        assert.equal(cloud.of("logs").length, 1, "no retrying a logs route that failed");
        assert.deepEqual(lines.filter((l) => l.startsWith("deployment logs unavailable")), ["deployment logs unavailable (deployment logs answered HTTP 500: logs are resting); following the deployment's status only"]);
        // A port nothing listens on any more (a fresh one: no pooled connection to it).
        const closed = await new FakePulumiCloud(scenario()).start();
        await closed.close();
        const gone = await new DeploymentsEngine({ ...deploymentsSettings(ENV), apiUrl: closed.url }, { sleep: async () => undefined }).drift("globex", raw, ctx);
        assert.equal(gone.outcome, "failed");
        assert.match(gone.message, /^Pulumi Deployments drift check of acme-platform\/byoc\/globex failed: fetch failed \(ECONNREFUSED\)$/);
    });

    it("inherited settings, commit source and no pool: no source or pool fields beyond what is set", async () => {
        const env = { ...ENV, BYOC_DEPLOYMENTS_REPO_URL: "", BYOC_DEPLOYMENTS_BRANCH: "", BYOC_DEPLOYMENTS_PROJECT_PATH: "", BYOC_DEPLOYMENTS_AGENT_POOL_ID: "", BYOC_DEPLOYMENTS_INHERIT_SETTINGS: "true", BYOC_DEPLOYMENTS_SKIP_INSTALL: "true" };
        const r = await engine(env).drift("globex", { "aws:region": "eu-west-1" }, { log: (l) => lines.push(l) });
        assert.equal(r.outcome, "succeeded", r.message);
        const body = cloud.of("create")[0].body;
        assert.equal(body.inheritSettings, true);
        assert.equal(body.sourceContext, undefined);
        assert.equal(body.agentPoolID, undefined);
        assert.deepEqual(body.operationContext.preRunCommands, ["npm ci --workspaces", CONFIG_PRE_RUN]);
        assert.deepEqual(body.operationContext.options, { skipInstallDependencies: true, remediateIfDriftDetected: false });
        assert.equal(body.operationContext.environmentVariables.BYOC_STACK_SECRETS, undefined);
    });
});

describe("portal: drift checks with the deployments engine", function () {
    this.timeout(60_000);

    it("on demand and on schedule: the detect-drift finding lands on the customer; no 409", async () => {
        const fake = new FakePulumi();
        const restore = usePulumiCommandForRemote(fake.asCommand());
        const warn = console.warn;
        console.warn = () => undefined;
        const cloud = await new FakePulumiCloud(scenario({ stack: "acme-remote" })).start();
        const engine = new DeploymentsEngine({ ...deploymentsSettings(ENV), apiUrl: cloud.url }, { driftPollMs: 1 });
        const h = await helpers.startHarness({ engine, driftIntervalMs: 3_600_000 });
        try {
            const created = await h.call("POST", "/api/customers", helpers.TOKENS.operator, { stack: "acme-remote", config: helpers.customerConfig("acme-remote") });
            assert.equal(created.status, 202, JSON.stringify(created.body));
            await h.running.portal.idle();
            const customer = async () => (await h.call("GET", "/api/customers/acme-remote", helpers.TOKENS.operator)).body.customer;
            assert.equal((await customer()).status, "deployed");
            const upCalls = fake.argv().filter((a) => a[0] === "up").length;

            cloud.scenario.driftRuns = [{ status: 200, body: { driftRuns: [run("dr-1", "dep-1", false, { same: 40 })] } }];
            const asked = await h.call("POST", "/api/customers/acme-remote/drift-check", helpers.TOKENS.operator);
            assert.equal(asked.status, 202, JSON.stringify(asked.body));
            await h.running.portal.idle();
            const job = (await h.call("GET", `/api/jobs/${asked.body.job.id}`, helpers.TOKENS.operator)).body.job;
            assert.equal(job.state, "succeeded", job.log);
            assert.ok(!JSON.stringify(job.log).includes("tskey-x"), "no secret in the job log");
            let c = await customer();
            assert.deepEqual(c.drift, { checkedAt: h.clock.now().toISOString(), drifted: false, changes: [], job: job.id });
            assert.equal(cloud.of("create")[0].body.operation, "detect-drift");

            // The scheduler queues one when the interval has passed; this time the run found drift.
            cloud.scenario.create = { status: 200, body: { id: "dep-2" } };
            cloud.scenario.driftRuns = [{ status: 200, body: { driftRuns: [run("dr-2", "dep-2", true, { same: 39, update: 1 })] } }];
            h.clock.advanceHours(2);
            const queued = h.running.portal.scheduleDriftChecks();
            assert.equal(queued.length, 1);
            await h.running.portal.idle();
            c = await customer();
            assert.equal(c.drift.drifted, true);
            assert.deepEqual(c.drift.changes, []);
            assert.equal(c.status, "deployed");
            assert.equal(fake.argv().filter((a) => a[0] === "up").length, upCalls, "a drift check runs no update");
        } finally {
            await h.close();
            await cloud.close();
            restore();
            console.warn = warn;
        }
    });
});
