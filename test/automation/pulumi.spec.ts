// The pulumi engine against a recording fake CLI: the exact command lines the Automation API runs for create,
// config update, preview, up and destroy (policy pack flags included), and how lock conflicts and missing
// stacks come back.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PulumiEngine, pulumiSettings, selectEngineKind, RunContext } from "../../automation";
import { FakePulumi } from "./fakePulumi";
import { sourceIdentityOf } from "../../automation/types";

// The workspace checks that its directory exists; the fake never writes into it.
const ROOT = fs.mkdtempSync(path.join(os.tmpdir(), "byoc-workdir-"));
const PACK = [`${ROOT}/policies`];
const EVENTS = ["--event-log", "tcp://127.0.0.1:<port>"];

function engine(fake: FakePulumi) {
    return new PulumiEngine({
        workDir: ROOT,
        backendUrl: "file:///srv/state",
        secretsProvider: "passphrase",
        envVars: { PULUMI_BACKEND_URL: "file:///srv/state", PULUMI_CONFIG_PASSPHRASE: "correct horse" },
        policyPackDir: `${ROOT}/policies`,
        policyConfigDir: `${ROOT}/policies/config`,
        pulumiCommand: fake.asCommand(),
    });
}

const raw = (env: "dev" | "prod", extra: Record<string, unknown> = {}) => ({
    "aws:region": "us-east-1",
    "byoc:environment": env,
    "byoc:network": { vpcCidr: "10.20.0.0/20", azCount: 2 },
    ...extra,
});

describe("automation: pulumi engine (recording fake CLI)", () => {
    // The SDK's "no summary event" warning is noise for a fake CLI.
    let warn: typeof console.warn;
    before(() => {
        warn = console.warn;
        console.warn = () => undefined;
    });
    after(() => (console.warn = warn));

    const lines: string[] = [];
    const ctx: RunContext = { log: (l) => lines.push(l) };
    beforeEach(() => (lines.length = 0));

    it("creates a missing stack with the secrets provider and sets its whole config in one set-all --json", async () => {
        const fake = new FakePulumi();
        const r = await engine(fake).configure("globex", raw("dev"), ctx);
        assert.equal(r.outcome, "succeeded");
        assert.deepEqual(fake.argv().slice(0, 3), [
            ["stack", "select", "--stack", "globex"],
            ["stack", "init", "globex", "--secrets-provider", "passphrase"],
            ["config", "--show-secrets", "--json", "--stack", "globex"],
        ]);
        const [setAll] = fake.argv().slice(3);
        assert.deepEqual(setAll.slice(0, 5), ["config", "set-all", "--stack", "globex", "--json"]);
        assert.deepEqual(JSON.parse(setAll[5]), {
            "aws:region": { value: "us-east-1", secret: false },
            "byoc:environment": { value: "dev", secret: false },
            "byoc:network": { value: '{"vpcCidr":"10.20.0.0/20","azCount":2}', secret: false, objectValue: { vpcCidr: "10.20.0.0/20", azCount: 2 } },
        });
        assert.equal(fake.argv().length, 4);
        // Every call runs in the program's directory with the backend and passphrase.
        for (const c of fake.calls) {
            assert.equal(c.cwd, ROOT);
            assert.equal(c.env.PULUMI_BACKEND_URL, "file:///srv/state");
            assert.equal(c.env.PULUMI_CONFIG_PASSPHRASE, "correct horse");
        }
    });

    it("updates only what changed: removed keys with rm-all, changed keys with set-all, nothing when equal", async () => {
        const fake = new FakePulumi();
        const e = engine(fake);
        await e.configure("globex", raw("dev"), ctx);
        fake.calls.length = 0;
        const grant = { id: "ar-1", engineer: "alice@example.com", csrPem: "…", reason: "disk", approvedBy: "lead@example.com", notAfter: "2026-11-25T16:00:00Z" };
        const next = { "aws:region": "us-east-1", "byoc:environment": "dev", "byoc:access": { grants: [grant] } };
        await e.configure("globex", next, ctx);
        assert.deepEqual(fake.argv(), [
            ["stack", "select", "--stack", "globex"],
            ["config", "--show-secrets", "--json", "--stack", "globex"],
            ["config", "rm-all", "--stack", "globex", "byoc:network"],
            ["config", "set-all", "--stack", "globex", "--json", JSON.stringify({ "byoc:access": { value: JSON.stringify(next["byoc:access"]), secret: false, objectValue: next["byoc:access"] } })],
        ]);
        fake.calls.length = 0;
        // Same data with keys in another order: no writes.
        await e.configure("globex", { "byoc:access": { grants: [grant] }, "byoc:environment": "dev", "aws:region": "us-east-1" }, ctx);
        assert.deepEqual(fake.argv(), [
            ["stack", "select", "--stack", "globex"],
            ["config", "--show-secrets", "--json", "--stack", "globex"],
        ]);
        assert.ok(lines.includes("config: unchanged"));
    });

    it("previews and updates with the policy pack and the environment's pack config", async () => {
        const fake = new FakePulumi();
        const e = engine(fake);
        await e.configure("globex", raw("prod"), ctx);
        fake.calls.length = 0;
        const preview = await e.run("preview", "globex", raw("prod"), ctx);
        assert.equal(preview.outcome, "succeeded");
        const up = await e.run("up", "globex", raw("prod"), ctx);
        assert.equal(up.outcome, "succeeded");
        assert.deepEqual(up.outputs, fake.outputsAfterUp);
        const packFlags = ["--policy-pack", ...PACK, "--policy-pack-config", `${ROOT}/policies/config/prod.json`];
        assert.deepEqual(fake.argv(), [
            ["stack", "select", "--stack", "globex"],
            ["preview", ...packFlags, "--exec-kind", "auto.local", ...EVENTS, "--stack", "globex"],
            ["stack", "select", "--stack", "globex"],
            ["up", "--yes", "--skip-preview", ...packFlags, "--exec-kind", "auto.local", ...EVENTS, "--stack", "globex"],
            ["stack", "output", "--json", "--stack", "globex"],
            ["stack", "output", "--json", "--show-secrets", "--stack", "globex"],
            ["stack", "history", "--json", "--show-secrets", "--page-size", "1", "--page", "1", "--stack", "globex"],
        ]);
        // The CLI's output is streamed into the job log line by line.
        assert.ok(lines.includes("Previewing update (globex):"));
        assert.ok(lines.includes("Updating (globex):"));
        assert.ok(lines.includes("    + 94 to create"));
    });

    it("runs the program with BYOC_SOURCE_IDENTITY of who asked (the portal's actor, made an STS source identity)", async () => {
        const fake = new FakePulumi();
        const e = engine(fake);
        await e.configure("globex", raw("prod"), ctx);
        fake.calls.length = 0;
        const up = await e.run("up", "globex", raw("prod"), { ...ctx, sourceIdentity: sourceIdentityOf("system:drift") });
        assert.equal(up.outcome, "succeeded");
        const call = fake.calls.find((c) => c.args[0] === "up")!;
        assert.equal(call.env.BYOC_SOURCE_IDENTITY, "system-drift");
        assert.equal(sourceIdentityOf("alice@example.com"), "alice@example.com");
        assert.equal(sourceIdentityOf("aws:x"), "byoc-aws-x");
        assert.equal(sourceIdentityOf("x"), "byoc-x");
        assert.equal(sourceIdentityOf("a".repeat(80)).length, 64);
    });

    it("uses the dev pack config for dev stacks", async () => {
        const fake = new FakePulumi();
        const e = engine(fake);
        await e.configure("initech", raw("dev"), ctx);
        await e.run("preview", "initech", raw("dev"), ctx);
        const preview = fake.argv().find((a) => a[0] === "preview")!;
        assert.equal(preview[preview.indexOf("--policy-pack-config") + 1], `${ROOT}/policies/config/dev.json`);
    });

    it("destroys an existing stack", async () => {
        const fake = new FakePulumi();
        const e = engine(fake);
        await e.configure("globex", raw("dev"), ctx);
        fake.calls.length = 0;
        const r = await e.run("destroy", "globex", raw("dev"), ctx);
        assert.equal(r.outcome, "succeeded");
        assert.deepEqual(fake.argv(), [
            ["stack", "select", "--stack", "globex"],
            ["stack", "export", "--show-secrets", "--stack", "globex"],
            ["destroy", "--yes", "--skip-preview", ...EVENTS, "--exec-kind", "auto.local", "--stack", "globex"],
            ["stack", "history", "--json", "--show-secrets", "--page-size", "1", "--page", "1", "--stack", "globex"],
        ]);
    });

    it("lifts deletion protection (prod) through stack export/import before a destroy, which the CLI refuses otherwise", async () => {
        const fake = new FakePulumi();
        const e = engine(fake);
        await e.configure("acme", raw("prod"), ctx);
        const vpc = "urn:pulumi:acme::byoc::byoc:network:DataPlaneNetwork$aws:ec2/vpc:Vpc::byoc-acme-vpc";
        const sg = "urn:pulumi:acme::byoc::aws:ec2/securityGroup:SecurityGroup::sg";
        fake.stacks.get("acme")!.resources = [{ urn: vpc, protect: true }, { urn: sg }];
        fake.calls.length = 0;
        lines.length = 0;
        const r = await e.run("destroy", "acme", raw("prod"), ctx);
        assert.equal(r.outcome, "succeeded", r.message);
        const argv = fake.argv();
        assert.deepEqual(argv.slice(1, 2), [["stack", "export", "--show-secrets", "--stack", "acme"]]);
        assert.deepEqual([argv[2][0], argv[2][1], argv[2][2]], ["stack", "import", "--file"]);
        assert.equal(argv[3][0], "destroy");
        assert.ok(lines.some((l) => /deletion protection lifted on 1 resources of acme .*byoc-acme-vpc/.test(l)), lines.join("\n"));
        // Without the lift the fake CLI refuses, as pulumi does.
        fake.stacks.get("acme")!.resources = [{ urn: vpc, protect: true }];
        fake.failures.clear();
        const raw2 = await fake.run(["destroy", "--yes", "--stack", "acme"], "/", {}).catch((err: Error) => err);
        assert.match(String((raw2 as Error).message), /refusing to delete protected resource/);
    });

    it("maps a held stack lock to busy, not a crash", async () => {
        const fake = new FakePulumi();
        const e = engine(fake);
        await e.configure("globex", raw("dev"), ctx);
        fake.locked.add("globex");
        for (const op of ["up", "preview", "destroy"] as const) {
            const r = await e.run(op, "globex", raw("dev"), ctx);
            assert.equal(r.outcome, "busy", op);
            assert.match(r.message, /stack globex is locked by another update/);
        }
    });

    it("maps a missing stack to not-found for operations and undefined outputs", async () => {
        const fake = new FakePulumi();
        const e = engine(fake);
        const r = await e.run("up", "ghost", raw("dev"), ctx);
        assert.equal(r.outcome, "not-found");
        assert.match(r.message, /stack ghost does not exist in file:\/\/\/srv\/state/);
        assert.equal(await e.outputs("ghost"), undefined);
        // select only: an operation never creates a stack behind the caller's back.
        assert.deepEqual(fake.argv(), [
            ["stack", "select", "--stack", "ghost"],
            ["stack", "select", "--stack", "ghost"],
        ]);
    });

    it("reports other CLI failures as failed with the CLI's last error lines", async () => {
        const fake = new FakePulumi();
        const e = engine(fake);
        await e.configure("globex", raw("dev"), ctx);
        fake.failures.set("up", "Updating (globex):\nerror: update failed\n  aws:ec2/vpc:Vpc byoc-globex-vpc: creating EC2 VPC: UnauthorizedOperation\n");
        const r = await e.run("up", "globex", raw("dev"), ctx);
        assert.equal(r.outcome, "failed");
        assert.match(r.message, /^pulumi failed on stack globex: [\s\S]*UnauthorizedOperation/);
    });
});

describe("automation: settings", () => {
    it("defaults to a file:// backend under .byoc and a generated passphrase file (0600)", () => {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "byoc-settings-"));
        const s = pulumiSettings({}, root);
        assert.equal(s.backendUrl, `file://${root}/.byoc/state`);
        assert.equal(s.secretsProvider, "passphrase");
        const file = s.envVars.PULUMI_CONFIG_PASSPHRASE_FILE;
        assert.equal(file, `${root}/.byoc/passphrase`);
        assert.equal(fs.statSync(file).mode & 0o777, 0o600);
        assert.equal(s.policyPackDir, `${root}/policies`);
        // Stable across restarts: the same passphrase decrypts the same stacks.
        const before = fs.readFileSync(file, "utf8");
        pulumiSettings({}, root);
        assert.equal(fs.readFileSync(file, "utf8"), before);
    });

    it("takes the backend, passphrase and a KMS secrets provider from the environment", () => {
        const s = pulumiSettings({ PULUMI_BACKEND_URL: "s3://byoc-state", BYOC_SECRETS_PROVIDER: "awskms://alias/byoc?region=us-east-1" }, "/nonexistent");
        assert.equal(s.backendUrl, "s3://byoc-state");
        assert.equal(s.secretsProvider, "awskms://alias/byoc?region=us-east-1");
        assert.equal(s.envVars.PULUMI_CONFIG_PASSPHRASE, undefined);
        assert.equal(s.envVars.PULUMI_CONFIG_PASSPHRASE_FILE, undefined);
        const p = pulumiSettings({ PULUMI_BACKEND_URL: "s3://x", PULUMI_CONFIG_PASSPHRASE: "pw" }, "/nonexistent");
        assert.equal(p.envVars.PULUMI_CONFIG_PASSPHRASE, "pw");
        assert.throws(() => pulumiSettings({ PULUMI_BACKEND_URL: "s3://x", BYOC_SECRETS_PROVIDER: "rot13" }, "/nonexistent"), /BYOC_SECRETS_PROVIDER = "rot13"/);
    });

    it("selects the engine: explicit, or pulumi only when the CLI is on PATH", () => {
        const bin = fs.mkdtempSync(path.join(os.tmpdir(), "byoc-bin-"));
        assert.equal(selectEngineKind({ BYOC_ENGINE: "offline", PATH: bin }), "offline");
        assert.equal(selectEngineKind({ BYOC_ENGINE: "pulumi", PATH: "" }), "pulumi");
        assert.equal(selectEngineKind({ PATH: bin }), "offline");
        fs.writeFileSync(path.join(bin, "pulumi"), "#!/bin/sh\n", { mode: 0o755 });
        assert.equal(selectEngineKind({ PATH: bin }), "pulumi");
        assert.equal(selectEngineKind({ BYOC_ENGINE: "auto", PATH: bin }), "pulumi");
        assert.throws(() => selectEngineKind({ BYOC_ENGINE: "terraform" }), /BYOC_ENGINE = "terraform": use "pulumi", "offline" or "auto"/);
    });
});
