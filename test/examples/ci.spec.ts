// Lints the CI examples users copy (examples/ci): they parse, everything they call exists in this project (npm
// scripts, files, CLI options), every job has the permissions its steps need and no more than the workflow's
// read-only default, credentials come from OIDC only — and their shell steps run as written.
import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Command } from "commander";
import { parseDocument } from "yaml";
import { configurePolicyCheckCommand } from "../../cli/policy-check";
import { previewCommand } from "../../cli/preview";

const ROOT = path.join(__dirname, "..", "..");
const CI = path.join(ROOT, "examples", "ci");
// eslint-disable-next-line @typescript-eslint/no-var-requires
const changedStacks: {
    affectedStacks(changed: string[], stacks: string[]): string[];
    stackFiles(dir: string): string[];
    stackInfo(dir: string, stack: string): { stack: string; environment: string; region: string; policyConfig: string };
} = require("../../examples/ci/changed-stacks.js");

type Obj = Record<string, any>;

function load(file: string): Obj {
    const doc = parseDocument(fs.readFileSync(path.join(CI, file), "utf8"), { uniqueKeys: true });
    assert.deepEqual(doc.errors.map(String), [], `${file} does not parse`);
    assert.deepEqual(doc.warnings.map(String), [], `${file}: YAML warnings`);
    return doc.toJS() as Obj;
}

const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));

function optionsOf(cmd: Command): Map<string, string[] | undefined> {
    return new Map(cmd.options.map((o) => [o.long!, (o as unknown as { argChoices?: string[] }).argChoices]));
}
const policyCheckOptions = optionsOf(configurePolicyCheckCommand(new Command("check")));
const previewOptions = optionsOf(previewCommand());

/** Checks every command of a shell script against the project: npm scripts, node entry points, CLI flags. */
function checkScript(where: string, script: string): void {
    for (const m of script.matchAll(/npm run (\S+)(?: -- ([^\n]*))?/g)) {
        assert.ok(pkg.scripts?.[m[1]], `${where}: npm run ${m[1]}: no such script in package.json`);
        if (m[1] === "preview") for (const flag of (m[2] ?? "").match(/--[a-z-]+/g) ?? []) assert.ok(previewOptions.has(flag), `${where}: preview has no ${flag}`);
    }
    for (const m of script.matchAll(/\bnode (\S+\.js)\b/g)) assert.ok(fs.existsSync(path.join(ROOT, m[1])), `${where}: node ${m[1]}: no such file`);
    for (const m of script.matchAll(/cli\/byoc\.js policy check ([^\n>]*)/g)) {
        for (const f of m[1].matchAll(/(--[a-z-]+)(?: ([a-z]+))?/g)) {
            const choices = policyCheckOptions.get(f[1]);
            assert.ok(policyCheckOptions.has(f[1]), `${where}: byoc policy check has no ${f[1]}`);
            if (choices && f[2]) assert.ok(choices.includes(f[2]), `${where}: ${f[1]} ${f[2]} is not one of ${choices.join(", ")}`);
        }
    }
    for (const m of script.matchAll(/--policy-pack (\S+)/g)) assert.ok(fs.existsSync(path.join(ROOT, m[1], "PulumiPolicy.yaml")), `${where}: --policy-pack ${m[1]}`);
    assert.doesNotMatch(script, /AWS_SECRET_ACCESS_KEY|AWS_ACCESS_KEY_ID|PULUMI_ACCESS_TOKEN=/, `${where}: long-lived credentials`);
}

/** A working directory that looks like the project (symlinks), with `out/` holding the given policy fixtures. */
function workdir(fixtures: string[]): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "byoc-ci-"));
    for (const d of ["cli", "policies", "node_modules", "package.json", "examples"]) fs.symlinkSync(path.join(ROOT, d), path.join(dir, d));
    fs.mkdirSync(path.join(dir, "out"));
    for (const f of fixtures) fs.copyFileSync(path.join(ROOT, "test", "fixtures", "policy", f), path.join(dir, "out", f));
    return dir;
}

describe("CI examples (examples/ci)", function () {
    this.timeout(60_000);

    it("the script linter catches a missing npm script, file, CLI option or choice", () => {
        assert.throws(() => checkScript("x", "npm run nope"), /no such script/);
        assert.throws(() => checkScript("x", "npm run preview -- --every"), /preview has no --every/);
        assert.throws(() => checkScript("x", "node cli/nope.js"), /no such file/);
        assert.throws(() => checkScript("x", "node cli/byoc.js policy check out/a.json --format yaml > a"), /not one of/);
        assert.throws(() => checkScript("x", "node cli/byoc.js policy check out/a.json --output a"), /has no --output/);
        assert.throws(() => checkScript("x", "pulumi preview --policy-pack rules"), /--policy-pack rules/);
    });

    describe("github-actions.yml", () => {
        const wf = load("github-actions.yml");
        const jobs = Object.entries(wf.jobs as Obj) as [string, Obj][];

        it("runs on every pull request, read-only by default, credentials through OIDC only", () => {
            assert.ok("pull_request" in wf.on, "on: pull_request");
            assert.deepEqual(wf.permissions, { contents: "read" });
            const text = fs.readFileSync(path.join(CI, "github-actions.yml"), "utf8");
            assert.doesNotMatch(text, /\$\{\{\s*secrets\./, "no repository secrets: OIDC only");
            assert.doesNotMatch(text, /aws-access-key-id|aws-secret-access-key|PULUMI_ACCESS_TOKEN/);
        });

        it("every step's action is pinned, and every job has exactly the permissions its steps need", () => {
            for (const [name, job] of jobs) {
                const perms: Obj = job.permissions ?? {};
                const uses: string[] = job.steps.filter((s: Obj) => s.uses).map((s: Obj) => s.uses);
                for (const u of uses) assert.match(u, /^[\w.-]+\/[\w.-]+(\/[\w./-]+)?@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$/, `${name}: ${u} not pinned`);
                const needs = {
                    "security-events": uses.some((u) => u.startsWith("github/codeql-action/upload-sarif@")),
                    "id-token": uses.some((u) => u.startsWith("pulumi/auth-actions@") || u.startsWith("aws-actions/configure-aws-credentials@")),
                    "pull-requests": job.steps.some((s: Obj) => s.uses?.startsWith("pulumi/actions@") && s.with?.["comment-on-pr"] === true),
                };
                for (const [perm, needed] of Object.entries(needs)) {
                    assert.equal(perms[perm] === "write", needed, `${name}: ${perm}: ${needed ? "write needed" : "not needed"}`);
                }
                assert.equal(perms.contents, "read", `${name}: contents: read`);
                for (const [perm, level] of Object.entries(perms)) {
                    if (!(perm in needs) && perm !== "contents") assert.deepEqual([perm, level], ["actions", "read"], `${name}: unexpected permission ${perm}`);
                }
            }
        });

        it("AWS through role-to-assume, Pulumi Cloud through pulumi/auth-actions, the real preview with the pack and its config", () => {
            const preview = wf.jobs.preview;
            const aws = preview.steps.find((s: Obj) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"));
            assert.ok(aws.with["role-to-assume"] && aws.with["aws-region"]);
            const auth = preview.steps.find((s: Obj) => s.uses?.startsWith("pulumi/auth-actions@"));
            assert.equal(auth.with["requested-token-type"], "urn:pulumi:token-type:access_token:organization");
            const pulumi = preview.steps.find((s: Obj) => s.uses?.startsWith("pulumi/actions@"));
            const order = preview.steps.indexOf.bind(preview.steps);
            assert.ok(order(auth) < order(pulumi) && order(aws) < order(pulumi), "credentials before the preview");
            assert.equal(pulumi.with.command, "preview");
            assert.ok(fs.existsSync(path.join(ROOT, pulumi.with.policyPacks, "PulumiPolicy.yaml")));
            assert.equal(pulumi.with.policyPackConfigs, "${{ matrix.policyConfig }}");
            assert.equal(pulumi.with["pulumi-version"], "${{ env.PULUMI_VERSION }}");
            assert.equal(wf.env.PULUMI_VERSION, require("@pulumi/pulumi/package.json").version, "the CLI matches the SDK");
            // The matrix is what changed-stacks.js prints; every key the job reads is there.
            const entry = changedStacks.stackInfo(ROOT, "dev");
            const text = JSON.stringify(preview);
            for (const m of text.matchAll(/matrix\.(\w+)/g)) assert.ok(m[1] in entry, `matrix.${m[1]}`);
            assert.deepEqual(preview.needs, ["offline", "changed"]);
            assert.equal(wf.jobs.changed.outputs.stacks, "${{ steps.stacks.outputs.stacks }}");
            assert.ok(wf.jobs.changed.steps.some((s: Obj) => s.id === "stacks"));
        });

        it("every script calls what exists; step outputs it reads are produced by steps of its job", () => {
            for (const [name, job] of jobs) {
                const ids = new Set(job.steps.map((s: Obj) => s.id).filter(Boolean));
                for (const s of job.steps) {
                    if (s.run) checkScript(`${name}/${s.name ?? s.id ?? "run"}`, s.run);
                    for (const m of JSON.stringify(s).matchAll(/steps\.(\w+)\.outputs\.(\w+)/g)) {
                        assert.ok(ids.has(m[1]), `${name}: steps.${m[1]} does not exist`);
                        const producer = job.steps.find((x: Obj) => x.id === m[1]);
                        // changed-stacks.js writes `stacks=` to $GITHUB_OUTPUT itself, and nothing else.
                        const writes = producer.run?.includes(`${m[2]}=`) || (m[2] === "stacks" && producer.run?.includes("changed-stacks.js"));
                        assert.ok(writes, `${name}: steps.${m[1]} does not write ${m[2]}`);
                    }
                }
            }
            const upload = wf.jobs.offline.steps.find((s: Obj) => s.uses?.startsWith("github/codeql-action/upload-sarif@"));
            assert.equal(upload.with.category, undefined, "each SARIF run carries its own category; a category input would merge the stacks");
        });

        it("the policy-check step runs as written: one SARIF per snapshot, the worst exit code kept", () => {
            const step = wf.jobs.offline.steps.find((s: Obj) => s.id === "check");
            assert.equal(step.shell, "bash {0}");
            const dir = workdir(["export-violations.json", "export-clean.json"]);
            try {
                const output = path.join(dir, "github-output");
                fs.writeFileSync(path.join(dir, "step.sh"), step.run);
                const r = spawnSync("bash", ["step.sh"], { cwd: dir, env: { ...process.env, GITHUB_OUTPUT: output }, encoding: "utf8" });
                assert.equal(r.status, 0, r.stderr);
                assert.equal(fs.readFileSync(output, "utf8"), "exit=1\n");
                for (const stack of ["export-violations", "export-clean"]) {
                    const log = JSON.parse(fs.readFileSync(path.join(dir, "out", `${stack}.sarif`), "utf8"));
                    assert.equal(log.version, "2.1.0");
                    assert.equal(log.runs[0].automationDetails.id, `byoc-policy-check/${stack}/`);
                }
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });
    });

    describe("gitlab-ci.yml", () => {
        const ci = load("gitlab-ci.yml");

        it("merge request pipelines; OIDC id_tokens for Pulumi Cloud and AWS; no stored credentials", () => {
            assert.deepEqual(ci.workflow.rules, [{ if: '$CI_PIPELINE_SOURCE == "merge_request_event"' }]);
            const job = ci["pulumi-preview"];
            assert.match(job.id_tokens.PULUMI_OIDC_TOKEN.aud, /^urn:pulumi:org:/);
            assert.equal(job.id_tokens.AWS_OIDC_TOKEN.aud, "sts.amazonaws.com");
            const script = job.script.join("\n");
            assert.match(script, /pulumi login --oidc-token "\$PULUMI_OIDC_TOKEN" --oidc-org/);
            assert.match(script, /AWS_WEB_IDENTITY_TOKEN_FILE=/);
            assert.match(script, /AWS_ROLE_ARN="\$role"/);
            assert.match(script, /pulumi preview --stack [^\n]*\\\n\s+--policy-pack policies --policy-pack-config "\$policy_config"/);
            assert.equal(ci.variables.PULUMI_VERSION, require("@pulumi/pulumi/package.json").version);
            assert.deepEqual(job.needs, ["offline-policy"]);
            assert.equal(job.variables.GIT_DEPTH, 0);
            const text = fs.readFileSync(path.join(CI, "gitlab-ci.yml"), "utf8");
            assert.doesNotMatch(text, /AWS_SECRET_ACCESS_KEY|AWS_ACCESS_KEY_ID|PULUMI_ACCESS_TOKEN/);
        });

        it("every script calls what exists; the JUnit report path is the one the script writes", () => {
            for (const [name, job] of Object.entries(ci) as [string, Obj][]) {
                for (const key of ["before_script", "script", "after_script"]) {
                    if (Array.isArray(job?.[key])) checkScript(`${name}.${key}`, job[key].join("\n"));
                }
            }
            const offline = ci["offline-policy"];
            assert.equal(offline.artifacts.reports.junit, "out/*.junit.xml");
            assert.match(offline.script.join("\n"), /--format junit > "out\/\$stack\.junit\.xml"/);
            assert.equal(offline.artifacts.when, "always");
        });

        it("the offline script runs as written: JUnit + SARIF per snapshot, exit 1 on a mandatory violation", () => {
            const dir = workdir(["export-violations.json", "export-clean.json"]);
            try {
                // `npm run preview -- --all --json out/` stands in: the snapshots are already in out/, one stack has violations.
                fs.mkdirSync(path.join(dir, "bin"));
                fs.writeFileSync(path.join(dir, "bin", "npm"), `#!/bin/sh\n[ "$*" = "run preview -- --all --json out/" ] || exit 9\nexit 1\n`, { mode: 0o755 });
                const r = spawnSync("bash", ["-e", "-o", "pipefail", "-c", ci["offline-policy"].script.join("\n")], {
                    cwd: dir,
                    env: { ...process.env, PATH: `${path.join(dir, "bin")}${path.delimiter}${process.env.PATH}` },
                    encoding: "utf8",
                });
                assert.equal(r.status, 1, r.stdout + r.stderr);
                assert.match(r.stdout, /offline preview exit 1, policy check exit 1/);
                for (const stack of ["export-violations", "export-clean"]) {
                    assert.match(fs.readFileSync(path.join(dir, "out", `${stack}.junit.xml`), "utf8"), /^<\?xml[\s\S]*<testsuites /);
                    assert.equal(JSON.parse(fs.readFileSync(path.join(dir, "out", `${stack}.sarif`), "utf8")).version, "2.1.0");
                }
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });
    });

    describe("changed-stacks.js", () => {
        it("a stack file affects its stack; the program, the pack or the lockfile every stack; docs and tests none", () => {
            const stacks = ["dev", "prod", "prod-eu"];
            assert.deepEqual(changedStacks.affectedStacks(["Pulumi.dev.yaml", "README.md"], stacks), ["dev"]);
            assert.deepEqual(changedStacks.affectedStacks(["Pulumi.prod-eu.yaml", "Pulumi.gone.yaml"], stacks), ["prod-eu"]);
            for (const f of ["index.ts", "components/DataPlaneCluster.ts", "policies/rules/tls-everywhere.ts", "policies/config/prod.json", "package-lock.json", "Pulumi.yaml"]) {
                assert.deepEqual(changedStacks.affectedStacks(["README.md", f], stacks), stacks, f);
            }
            assert.deepEqual(changedStacks.affectedStacks(["docs/x.md", "test/policies/x.spec.ts", "examples/ci/gitlab-ci.yml", ".github/workflows/x.yml"], stacks), []);
        });

        it("reads each stack's environment and region; the policy config it names exists", () => {
            const all = JSON.parse(execFileSync(process.execPath, [path.join(CI, "changed-stacks.js"), "--all", "--dir", ROOT], { encoding: "utf8", env: { ...process.env, GITHUB_OUTPUT: "" } }));
            assert.deepEqual(all.map((s: Obj) => s.stack), changedStacks.stackFiles(ROOT));
            for (const s of all) {
                assert.ok(["dev", "prod"].includes(s.environment), s.stack);
                assert.ok(fs.existsSync(path.join(ROOT, s.policyConfig)), s.policyConfig);
                assert.match(s.region, /^[a-z]{2}(-[a-z]+)+-\d$/);
            }
            // …and refuses a stack file it cannot place.
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "byoc-changed-stacks-"));
            try {
                fs.writeFileSync(path.join(dir, "Pulumi.qa.yaml"), "config:\n  byoc:environment: staging\n  aws:region: eu-west-1\n");
                assert.throws(() => changedStacks.stackInfo(dir, "qa"), /byoc:environment must be dev or prod, not "staging"/);
                fs.writeFileSync(path.join(dir, "Pulumi.qa.yaml"), "config:\n  byoc:environment: dev\n");
                assert.throws(() => changedStacks.stackInfo(dir, "qa"), /aws:region is not set/);
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });

        it("against a git history: only the stack whose file changed, every stack when the program changed", () => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "byoc-changed-"));
            const git = (...args: string[]) => execFileSync("git", ["-c", "user.email=ci@example.com", "-c", "user.name=ci", ...args], { cwd: dir, encoding: "utf8" });
            const run = () => execFileSync(process.execPath, [path.join(CI, "changed-stacks.js"), "main", "--format", "tsv"], { cwd: dir, encoding: "utf8", env: { ...process.env, GITHUB_OUTPUT: path.join(dir, "out.txt") } });
            try {
                fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
                for (const s of ["dev", "prod"]) fs.copyFileSync(path.join(ROOT, `Pulumi.${s}.yaml`), path.join(dir, `Pulumi.${s}.yaml`));
                fs.writeFileSync(path.join(dir, "index.ts"), "export {};\n");
                fs.writeFileSync(path.join(dir, ".gitignore"), "node_modules\nout.txt\n");
                git("init", "-q", "-b", "main");
                git("add", ".");
                git("commit", "-q", "-m", "base");
                git("checkout", "-q", "-b", "change");
                fs.appendFileSync(path.join(dir, "Pulumi.dev.yaml"), "# comment\n");
                git("commit", "-q", "-am", "dev only");
                assert.equal(run(), "dev\tdev\tus-east-1\tpolicies/config/dev.json\n");
                assert.match(fs.readFileSync(path.join(dir, "out.txt"), "utf8"), /^stacks=\[\{"stack":"dev",/);
                fs.appendFileSync(path.join(dir, "index.ts"), "// change\n");
                git("commit", "-q", "-am", "program");
                assert.deepEqual(run().split("\n").filter(Boolean).map((l) => l.split("\t")[0]), ["dev", "prod"]);
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });
    });
});
