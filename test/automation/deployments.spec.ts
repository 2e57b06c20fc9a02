// The deployments engine against the recording fake CLI: the exact `--remote` command lines RemoteWorkspace runs
// (git source, run environment and secrets, pre-run commands that set the portal's config, agent pool), the
// settings it takes from the environment, and how a held stack and a missing one come back.
import { strict as assert } from "assert";
import { createEngine, DeploymentsEngine, deploymentsSettings, RunContext, selectEngineKind } from "../../automation";
import { CONFIG_PRE_RUN, SECRETS_PRE_RUN } from "../../automation/deployments";
import { FakePulumi, usePulumiCommandForRemote } from "./fakePulumi";

const ENV = {
    BYOC_ENGINE: "deployments",
    PULUMI_ACCESS_TOKEN: "pul-test",
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

describe("automation: deployments engine (RemoteWorkspace, recording fake CLI)", () => {
    let restore: () => void;
    let fake: FakePulumi;
    let warn: typeof console.warn;
    beforeEach(() => {
        fake = new FakePulumi();
        restore = usePulumiCommandForRemote(fake.asCommand());
        warn = console.warn;
        console.warn = () => undefined;
    });
    afterEach(() => {
        restore();
        console.warn = warn;
    });
    const lines: string[] = [];
    const ctx: RunContext = { log: (l) => lines.push(l), secrets: { "tailscale:oauthClientSecret": "s3cret" } };

    it("BYOC_ENGINE=deployments builds the engine from the environment", () => {
        assert.equal(selectEngineKind({ BYOC_ENGINE: "deployments" }), "deployments");
        const e = createEngine({ env: ENV });
        assert.ok(e instanceof DeploymentsEngine);
        assert.equal(e.kind, "deployments");
        assert.equal((e as DeploymentsEngine).fullName("globex"), "acme-platform/byoc/globex");
    });

    it("refuses incomplete or unsafe settings with one message naming each problem", () => {
        assert.throws(() => deploymentsSettings({}), /BYOC_DEPLOYMENTS_ORG is required.*PULUMI_ACCESS_TOKEN is required.*BYOC_DEPLOYMENTS_REPO_URL is required.*BRANCH or BYOC_DEPLOYMENTS_COMMIT is required/);
        assert.throws(() => deploymentsSettings({ ...ENV, BYOC_DEPLOYMENTS_COMMIT: "abc1234" }), /not both/);
        assert.throws(() => deploymentsSettings({ ...ENV, PULUMI_BACKEND_URL: "file:///srv/state" }), /needs the Pulumi Cloud backend/);
        assert.throws(() => deploymentsSettings({ ...ENV, BYOC_DEPLOYMENTS_ENV: JSON.stringify({ AWS_SECRET_ACCESS_KEY: "x" }) }), /OIDC/);
        assert.throws(() => deploymentsSettings({ ...ENV, BYOC_DEPLOYMENTS_PRE_RUN: "npm ci" }), /BYOC_DEPLOYMENTS_PRE_RUN: must be a JSON array/);
        // inherit settings: the stack's Deployment settings hold source, OIDC and pool
        const s = deploymentsSettings({ PULUMI_ACCESS_TOKEN: "t", BYOC_DEPLOYMENTS_ORG: "o", BYOC_DEPLOYMENTS_INHERIT_SETTINGS: "true" });
        assert.equal(s.inheritSettings, true);
    });

    it("runs up remotely with the exact flags: git source, env, secret env, pre-run commands, agent pool", async () => {
        const e = createEngine({ env: ENV });
        const r = await e.run("up", "globex", raw, ctx);
        assert.equal(r.outcome, "succeeded", r.message);
        assert.deepEqual(r.outputs, { vpcId: "vpc-0123456789abcdef0", networkFlows: [] });
        const argv = fake.argv();
        assert.deepEqual(argv.slice(0, 3), [
            ["preview", "--help"],
            ["stack", "--stack", "acme-platform/byoc/globex"],
            ["stack", "init", "acme-platform/byoc/globex", "--no-select"],
        ]);
        const up = argv.find((a) => a[0] === "up")!;
        const config = JSON.stringify({
            "aws:region": { value: "eu-west-1", secret: false },
            "byoc:environment": { value: "prod", secret: false },
            "byoc:network": { value: '{"vpcCidr":"10.20.0.0/20"}', secret: false, objectValue: { vpcCidr: "10.20.0.0/20" } },
        });
        const secrets = JSON.stringify({ "tailscale:oauthClientSecret": { value: "s3cret", secret: true } });
        assert.deepEqual(up, [
            "up", "--yes", "--skip-preview",
            "--remote", "https://github.com/acme/byoc-dataplane.git",
            "--remote-git-repo-dir", ".",
            "--remote-git-branch", "refs/heads/main",
            "--remote-env", "AWS_REGION=eu-west-1",
            "--remote-env", "BYOC_STACK=acme-platform/byoc/globex",
            "--remote-env", `BYOC_STACK_CONFIG=${config}`,
            "--remote-env-secret", "TAILSCALE_OAUTH_CLIENT_SECRET=tskey-x",
            "--remote-env-secret", `BYOC_STACK_SECRETS=${secrets}`,
            "--remote-pre-run-command", "npm ci --workspaces",
            "--remote-pre-run-command", CONFIG_PRE_RUN,
            "--remote-pre-run-command", SECRETS_PRE_RUN,
            "--remote-agent-pool-id=pool-eu-1",
            "--exec-kind", "auto.local",
            "--event-log", "tcp://127.0.0.1:<port>",
            "--stack", "acme-platform/byoc/globex",
        ]);
        // Remote runs are experimental in the CLI: the SDK sets PULUMI_EXPERIMENTAL on every call.
        assert.ok(fake.calls.every((c) => c.env.PULUMI_EXPERIMENTAL === "true"));
        // The secret never lands in the plain config.
        // (the SDK passes `--remote-env` and `KEY=value` as two arguments: judge the values that follow the flag)
        assert.ok(!up.some((a, i) => up[i - 1] === "--remote-env" && a.includes("s3cret")), "a secret passed as a plain --remote-env");
        assert.ok(up.some((a, i) => up[i - 1] === "--remote-env-secret" && a.startsWith("BYOC_STACK_SECRETS=") && a.includes("s3cret")), "the secret goes through --remote-env-secret");
    });

    it("names who asked for the run as BYOC_SOURCE_IDENTITY, so the deploy role's session carries it", async () => {
        const e = createEngine({ env: ENV });
        const r = await e.run("up", "globex", raw, { ...ctx, sourceIdentity: "alice@example.com" });
        assert.equal(r.outcome, "succeeded", r.message);
        const up = fake.argv().find((a) => a[0] === "up")!;
        assert.ok(up.some((a, i) => up[i - 1] === "--remote-env" && a === "BYOC_SOURCE_IDENTITY=alice@example.com"), up.join(" "));
    });

    it("preview, refresh and destroy are remote too; commit instead of branch; no pool → no pool flag", async () => {
        const e = createEngine({ env: { ...ENV, BYOC_DEPLOYMENTS_BRANCH: "", BYOC_DEPLOYMENTS_COMMIT: "0123abc", BYOC_DEPLOYMENTS_AGENT_POOL_ID: "" } });
        for (const op of ["preview", "refresh", "destroy"] as const) {
            const r = await e.run(op, "globex", raw, { log: () => undefined });
            assert.equal(r.outcome, "succeeded", `${op}: ${r.message}`);
        }
        for (const op of ["preview", "refresh", "destroy"]) {
            const a = fake.argv().find((x) => x[0] === op && x[1] !== "--help")!;
            assert.ok(a.includes("--remote"), op);
            assert.ok(!a.includes("--remote-git-branch"), op);
            assert.equal(a[a.indexOf("--remote-git-commit") + 1], "0123abc", op);
            assert.ok(!a.some((x) => x.startsWith("--remote-agent-pool-id")), op);
            // No ctx.secrets: the operator's secret env only, no BYOC_STACK_SECRETS and no pre-run command for it.
            assert.deepEqual(a.filter((_, i) => a[i - 1] === "--remote-env-secret"), ["TAILSCALE_OAUTH_CLIENT_SECRET=tskey-x"], op);
            assert.ok(!a.includes(SECRETS_PRE_RUN), op);
        }
    });

    it("a stack held by another deployment comes back busy, a failing run as failed with the CLI's text", async () => {
        const e = createEngine({ env: ENV });
        fake.stacks.set("acme-platform/byoc/globex", { config: {}, outputs: {} });
        fake.failures.set("up", "error: [409] Conflict: Another update is currently in progress.\n");
        assert.equal((await e.run("up", "globex", raw, ctx)).outcome, "busy");
        fake.failures.set("up", "error: deployment failed: exit status 1\n");
        const r = await e.run("up", "globex", raw, ctx);
        assert.equal(r.outcome, "failed");
        assert.match(r.message, /acme-platform\/byoc\/globex: .*deployment failed/);
        // A secret the run carried never comes back in clear, in the message or in the log.
        lines.length = 0;
        fake.failures.set("up", "error: provider rejected token s3cret (env TAILSCALE_OAUTH_CLIENT_SECRET=tskey-x)\n");
        const leaked = await e.run("up", "globex", raw, ctx);
        assert.equal(leaked.outcome, "failed");
        assert.match(leaked.message, /rejected token \[secret\] \(env TAILSCALE_OAUTH_CLIENT_SECRET=\[secret\]\)/);
        assert.ok(!lines.some((l) => l.includes("s3cret") || l.includes("tskey-x")), lines.join("\n"));
    });
});
