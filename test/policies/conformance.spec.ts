/**
 * Conformance: the pack under its real runtime judges what policies/engine.ts judges.
 *
 * The pack is started once, exactly as Pulumi CLI 3.248.0 starts it (test/support/policyPackRuntime.ts: node
 * @pulumi/pulumi/cmd/run-policy-pack, ts-node with type-checking, the port on stdout, the Analyzer gRPC protocol
 * spoken with the client @pulumi/pulumi/proto ships). It is configured from policies/config/<env>.json the way
 * --policy-pack-config is (ReconcilePolicyPackConfig → Configure) and sent every resource of the dev and prod offline
 * snapshots and of test/fixtures/policy/*.json, marshalled the way the CLI marshals a saved state. Its diagnostics
 * (policy, enforcement, URN, message) must equal evaluatePolicies' violations.
 *
 * One kind of divergence is allowed, per rule (COMPONENT_INPUT_RULES): components. The engine (policies/snapshot.ts)
 * gives every resource its outputs overlaid with its inputs; the real AnalyzeStack gives a component only what it
 * registered as outputs. Where a document holds a remote eks:index:Cluster without children — the mock runtime's
 * shape: the offline preview and the fixtures derived from it — wait-for-eks-cluster and wait-for-nodes read the
 * cluster's name and node settings from its inputs in the engine, and find nothing under the real runtime; a real
 * preview or update always has the component's children (aws:eks/cluster:Cluster, the node group …), which is what
 * both rules use there. A stack rule that judges a component by its inputs is wrong under the real runtime in every
 * run (customer-managed-keys, pinned until the rule is fixed). The test proves each divergence comes from the
 * component props alone: re-sent with the components' inputs overlaid, the runtime's diagnostics equal the engine's
 * exactly.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pb from "@pulumi/pulumi/proto/analyzer_pb";
import {
    describePolicies, enforcementLevelOf, evaluatePolicies, Environment, isResourcePolicy, loadPackConfig, PackConfig, policyConfigOf, Violation,
} from "../../policies/engine";
import { allPolicies } from "../../policies/rules";
import { parseSnapshot, readSnapshotFile, SnapshotError } from "../../policies/snapshot";
import { offlinePreview } from "../../preview/offline";
import { readStackFile } from "../../stacks/loader";
import {
    analyzeRequests, CliDocument, cliDocument, DocumentAnalysis, isComponent, PolicyPackProcess, reconcilePolicyPackConfig, RuntimeDiagnostic,
} from "../support/policyPackRuntime";

const ROOT = path.resolve(__dirname, "..", "..");
const PACK_DIR = path.join(ROOT, "policies");
const FIXTURES = path.join(ROOT, "test", "fixtures", "policy");
const ENVS: Environment[] = ["dev", "prod"];
const NOW = new Date("2026-11-25T12:00:00Z");
const PROJECT = /^name:\s*(\S+)/m.exec(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"))![1];
/** The tags ConfigureStack carries (the CLI sends the stack's tags; the engine gets the same as stackTags). */
const STACK_TAGS = { "pulumi:project": PROJECT, "pulumi:runtime": "nodejs", "byoc:customer": "acme" };
/**
 * Stack rules that read a component's inputs, which the real AnalyzeStack never carries (see the header). A
 * divergence is accepted only for these, only on the side named, and only when re-sending the components with their
 * inputs overlaid makes the runtime agree with the engine exactly.
 */
const COMPONENT_INPUT_RULES = new Map<string, { side: "engine-only" | "runtime-only"; why: string }>([
    ["wait-for-eks-cluster", { side: "engine-only", why: "childless eks:index:Cluster (mock shape): its `name` input; a real run uses the aws:eks/cluster:Cluster child" }],
    ["wait-for-nodes", { side: "engine-only", why: "childless eks:index:Cluster (mock shape): skipDefaultNodeGroup/fargate/autoMode inputs; a real run uses the node group children" }],
    [
        "customer-managed-keys",
        {
            side: "runtime-only",
            why: "validateStack reads eks:index:Cluster's encryptionConfigKeyArn input: under the real runtime every cluster is reported unencrypted (a false positive, mandatory in prod) — to be fixed in the rule",
        },
    ],
]);

/** The fixtures that are Pulumi documents (the unreadable ones are refused by the CLI and by `byoc policy check`). */
const fixtureNames = fs
    .readdirSync(FIXTURES)
    .filter((f) => f.endsWith(".json"))
    .filter((f) => {
        try {
            readSnapshotFile(path.join(FIXTURES, f));
            return true;
        } catch (e) {
            if (e instanceof SnapshotError) return false;
            throw e;
        }
    })
    .sort();

interface Doc {
    name: string;
    doc: unknown;
    cli: CliDocument;
}

type Finding = { policy: string; enforcementLevel: string; urn?: string; message: string };

function key(f: Finding): string {
    return `${f.policy} | ${f.enforcementLevel} | ${f.urn ?? "(stack)"} | ${f.message}`;
}

/** The runtime's message is `description` + "\n" + the rule's message; an unknown-value note names the pack. */
function normalized(d: RuntimeDiagnostic): Finding {
    let message = d.message.replace(/^(can't run policy '[^']*') from policy pack '[^']*'/, "$1");
    if (message.startsWith(`${d.description}\n`)) message = message.slice(d.description.length + 1);
    return { policy: d.policy, enforcementLevel: d.enforcementLevel, urn: d.urn || undefined, message };
}

function engineFindings(vs: Violation[]): Finding[] {
    return vs.map((v) => ({ policy: v.policy, enforcementLevel: v.enforcementLevel, urn: v.urn, message: v.message }));
}

/** Multiset difference a − b by key. */
function minus(a: Finding[], b: Finding[]): Finding[] {
    const left = new Map<string, number>();
    for (const f of b) left.set(key(f), (left.get(key(f)) ?? 0) + 1);
    return a.filter((f) => {
        const n = left.get(key(f)) ?? 0;
        if (n > 0) {
            left.set(key(f), n - 1);
            return false;
        }
        return true;
    });
}

function describeDiff(label: string, runtimeOnly: Finding[], engineOnly: Finding[]): string {
    const lines = [`${label}: the real runtime and the engine disagree`];
    for (const f of runtimeOnly) lines.push(`  runtime only: ${key(f)}`);
    for (const f of engineOnly) lines.push(`  engine only:  ${key(f)}`);
    return lines.join("\n");
}

/** Components with inputs — what the engine sees and the real AnalyzeStack does not. */
function componentsWithInputs(cli: CliDocument): number {
    return cli.states.filter((s) => isComponent(s) && Object.keys(s.inputs ?? {}).length > 0).length;
}

/** Divergences seen (all explained, or the test fails), per document/config/policy; printed with BYOC_CONFORMANCE_REPORT=1. */
const pinned = new Map<string, number>();

/**
 * Runs a document through the real runtime and compares with the engine's violations. Only the pinned component
 * divergences may remain, and they must be nothing but the component props.
 */
async function expectSameDiagnostics(pack: PolicyPackProcess, label: string, cli: CliDocument, violations: Violation[]): Promise<void> {
    const run: DocumentAnalysis = await pack.analyzeDocument(cli);
    assert.deepEqual(run.failures, [], `${label}: a rule threw under the real runtime (the engine reports such a rule fail-closed; the CLI aborts)`);
    assert.equal(run.remediations, 0);
    const runtime = run.diagnostics.map(normalized);
    const expected = engineFindings(violations);
    const runtimeOnly = minus(runtime, expected);
    const engineOnly = minus(expected, runtime);
    if (runtimeOnly.length === 0 && engineOnly.length === 0) return;

    const known = (f: Finding, side: "engine-only" | "runtime-only") => COMPONENT_INPUT_RULES.get(f.policy)?.side === side;
    const unexplained = [...runtimeOnly.filter((f) => !known(f, "runtime-only")), ...engineOnly.filter((f) => !known(f, "engine-only"))];
    assert.ok(unexplained.length === 0 && componentsWithInputs(cli) > 0, describeDiff(label, runtimeOnly, engineOnly));
    const engineView = (await pack.analyzeDocument(cli, "engine")).diagnostics.map(normalized);
    const [ro, eo] = [minus(engineView, expected), minus(expected, engineView)];
    assert.ok(ro.length === 0 && eo.length === 0, describeDiff(`${label} with the components' inputs overlaid`, ro, eo));
    for (const [side, list] of [["engine only", engineOnly], ["runtime only", runtimeOnly]] as const) {
        for (const f of list) {
            const k = `${label} ${f.policy}, ${side}: ${COMPONENT_INPUT_RULES.get(f.policy)!.why}`;
            pinned.set(k, (pinned.get(k) ?? 0) + 1);
        }
    }
}

describe("policy pack under the real CrossGuard runtime (conformance with policies/engine.ts)", function () {
    this.timeout(120_000);
    let pack: PolicyPackProcess;
    let info: pb.AnalyzerInfo;
    const docs = new Map<string, Doc>();
    const configFiles = new Map<Environment, PackConfig>();

    before(async () => {
        const started = PolicyPackProcess.start(PACK_DIR, { organization: "organization", project: PROJECT, stack: "dev", tags: STACK_TAGS });
        // While ts-node type-checks the pack in its process, run the offline previews in this one.
        for (const stack of ENVS) {
            const result = await offlinePreview(stack, readStackFile(stack, ROOT).raw, { now: NOW });
            assert.ok(result.snapshot, `offline preview of ${stack} failed: ${result.error ?? JSON.stringify(result.problems)}`);
            docs.set(`offline snapshot ${stack}`, { name: `offline snapshot ${stack}`, doc: result.snapshot, cli: cliDocument(JSON.parse(JSON.stringify(result.snapshot))) });
        }
        for (const f of fixtureNames) {
            const doc = JSON.parse(fs.readFileSync(path.join(FIXTURES, f), "utf8"));
            docs.set(f, { name: f, doc, cli: cliDocument(doc) });
        }
        for (const env of ENVS) configFiles.set(env, JSON.parse(fs.readFileSync(path.join(PACK_DIR, "config", `${env}.json`), "utf8")));
        pack = await started;
        info = await pack.getAnalyzerInfo();
    });

    after(async () => {
        await pack?.stop();
        if (process.env.BYOC_CONFORMANCE_REPORT === "1") {
            process.stdout.write(`\npolicy pack start-up ${pack?.startupMs} ms; pinned component divergences:\n${[...pinned].map(([k, n]) => `  ${k}: ${n}`).join("\n") || "  none"}\n`);
        }
    });

    it("starts as the CLI starts it and serves the Analyzer protocol: the engine's pack, policy for policy", async () => {
        assert.ok(pack.port > 0 && pack.startupMs < 60_000);
        assert.equal(`v${(await pack.getPluginInfo()).getVersion()}`, require("@pulumi/policy/package.json").version); // "v1.21.0" there
        assert.equal(info.getName(), "byoc-data-plane");
        assert.equal(info.getVersion(), require("../../policies/package.json").version);
        assert.equal(info.getSupportsconfig(), true);
        // The CLI takes each policy's level from here when the config file does not name it.
        const runtime = info.getPoliciesList().map((p) => ({
            name: p.getName(),
            description: p.getDescription(),
            enforcementLevel: ["advisory", "mandatory", "remediate", "disabled"][p.getEnforcementlevel()],
            type: p.getPolicyType(),
        }));
        // A policy with both halves is announced as a resource policy (the runtime still runs both, as the engine
        // does); describePolicies calls it "stack".
        const expected = describePolicies({}).map(({ kind: _kind, ...d }, i) => ({
            ...d,
            type: isResourcePolicy(allPolicies[i]) ? pb.PolicyType.POLICY_TYPE_RESOURCE : pb.PolicyType.POLICY_TYPE_STACK,
        }));
        assert.deepEqual(runtime, expected);
        // A policy without a level of its own gets the pack's (policies/index.ts), in the runtime as in the engine.
        const packLevel = /enforcementLevel:\s*"(\w+)"/.exec(fs.readFileSync(path.join(PACK_DIR, "index.ts"), "utf8"))![1];
        assert.equal(enforcementLevelOf({ name: "probe", description: "", validateResource: () => undefined }, {}), packLevel);
    });

    it("type-checks the pack with ts-node in the pack's directory: a type error stops it before it serves", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "byoc-pack-"));
        try {
            fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
            fs.writeFileSync(path.join(dir, "PulumiPolicy.yaml"), "runtime: nodejs\n");
            fs.copyFileSync(path.join(PACK_DIR, "tsconfig.json"), path.join(dir, "tsconfig.json"));
            fs.writeFileSync(path.join(dir, "index.ts"), `const n: number = "1";\nexport { n };\n`);
            await assert.rejects(
                PolicyPackProcess.start(dir, { organization: "o", project: "p", stack: "s", tags: {} }),
                /before printing its port[\s\S]*TSError[\s\S]*TS2322/,
            );
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    for (const env of ENVS) {
        it(`Configure from policies/config/${env}.json carries the levels and properties the engine uses`, async () => {
            const config = reconcilePolicyPackConfig(info, configFiles.get(env)!);
            const packConfig = loadPackConfig(env);
            for (const p of allPolicies) {
                const c = config.get(p.name);
                assert.ok(c, `${p.name}: not configured`);
                assert.equal(c.enforcementLevel, enforcementLevelOf(p, packConfig), `${p.name}: enforcement`);
                // getConfig() in the runtime returns exactly these properties (schema defaults < file).
                assert.deepEqual(c.properties ?? {}, policyConfigOf(p, packConfig, env), `${p.name}: getConfig()`);
            }
            await pack.configure(config);
        });
    }

    it("without a config file it runs with the policies' own levels and schema defaults — the engine's prod", async () => {
        await pack.configure(reconcilePolicyPackConfig(info, {}));
        for (const name of ["export-violations.json", "checkpoint-legacy.json"].filter((n) => docs.has(n))) {
            const d = docs.get(name)!;
            const engine = evaluatePolicies(parseSnapshot(d.doc).resources, { env: "prod", config: {}, stackTags: STACK_TAGS });
            await expectSameDiagnostics(pack, `${name} (no config)`, d.cli, engine.violations);
        }
    });

    for (const env of ENVS) {
        for (const name of [...ENVS.map((s) => `offline snapshot ${s}`), ...fixtureNames]) {
            it(`${name}, policies/config/${env}.json: same diagnostics (policy, enforcement, URN, message)`, async () => {
                const d = docs.get(name)!;
                await pack.configure(reconcilePolicyPackConfig(info, configFiles.get(env)!));
                const engine = evaluatePolicies(parseSnapshot(d.doc).resources, { env, config: loadPackConfig(env), stackTags: STACK_TAGS });
                // Every resource reaches the pack, as every registered resource does in a preview: the root stack,
                // components (local and remote), providers and custom resources; the CLI rejects what the engine skips.
                assert.equal(engine.checkedResources, d.cli.states.length, "resources judged");
                assert.equal(analyzeRequests(d.cli).length, d.cli.states.length);
                if (name.startsWith("offline snapshot")) {
                    const types = new Set(d.cli.states.map((s) => s.type));
                    for (const t of ["pulumi:pulumi:Stack", "eks:index:Cluster", "pulumi:providers:kubernetes", "byoc:index:DataPlaneCluster"]) assert.ok(types.has(t), t);
                }

                await expectSameDiagnostics(pack, `${name} (${env})`, d.cli, engine.violations);
            });
        }
    }
});
