// `npm run preview -- <stack>` end to end: the CLI entry in-process (io captured), and once as a child process.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stringify } from "yaml";
import { runPreview, runPreviewAll, Io } from "../../cli/preview";
import { readStackFile } from "../../stacks/loader";

const ROOT = path.resolve(__dirname, "../..");

interface Captured extends Io {
    stdout: string;
    stderr: string;
}

function capture(): Captured {
    const c: Captured = {
        stdout: "",
        stderr: "",
        out: (t) => void (c.stdout += `${t}\n`),
        err: (t) => void (c.stderr += `${t}\n`),
    };
    return c;
}

/** The repository's prod stack file with top-level keys replaced (`undefined` removes one), as YAML text. */
function prodYaml(overrides: Record<string, unknown>): string {
    const config: Record<string, unknown> = JSON.parse(JSON.stringify(readStackFile("prod", ROOT).raw));
    for (const [k, v] of Object.entries(overrides)) {
        if (v === undefined) delete config[k];
        else config[k] = v;
    }
    return stringify({ config });
}

function prodSection(key: string, fields: Record<string, unknown>): Record<string, unknown> {
    return { ...(readStackFile("prod", ROOT).raw[key] as Record<string, unknown>), ...fields };
}

describe("cli/preview: npm run preview -- <stack>", function () {
    this.timeout(120000);
    let tmp: string;

    before(() => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "byoc-preview-"));
    });
    after(() => {
        fs.rmSync(tmp, { recursive: true, force: true });
    });

    for (const stack of ["dev", "prod"] as const) {
        it(`${stack}: exits 0 and prints the tree, the counts per type, the policy summary and the flow table`, async () => {
            const io = capture();
            const code = await runPreview(stack, { dir: ROOT }, io);
            assert.equal(code, 0, `stderr:\n${io.stderr}\nstdout:\n${io.stdout}`);
            assert.equal(io.stderr, "");
            const customer = stack === "dev" ? "acme-dev" : "acme";
            assert.match(io.stdout, new RegExp(`^Stack ${stack} \\(${stack}, customer ${customer}, us-east-1\\): \\d+ resources\\n`));
            // Tree: the stack at the root, components below it, their children indented further.
            assert.match(io.stdout, /^pulumi:pulumi:Stack {2}byoc-/m);
            assert.match(io.stdout, /^├─ byoc:index:DataPlaneNetwork {2}/m);
            assert.match(io.stdout, /^│ {2}├─ aws:ec2\/vpc:Vpc {2}/m);
            assert.match(io.stdout, /^│ {2}[├└]─ eks:index:Cluster {2}/m);
            // Counts per type, with a total equal to the resource count in the header.
            const total = Number(/: (\d+) resources\n/.exec(io.stdout)![1]);
            assert.match(io.stdout, /\nResources by type:\n/);
            assert.match(io.stdout, new RegExp(`^ *${total} {2}total$`, "m"));
            const nat = stack === "prod" ? 3 : 1;
            assert.match(io.stdout, new RegExp(`^ *${nat} {2}aws:ec2/natGateway:NatGateway$`, "m"));
            assert.match(io.stdout, /^ *\d+ {2}aws:ec2\/vpcEndpoint:VpcEndpoint$/m);
            // Policy summary and flow table.
            assert.match(io.stdout, new RegExp(`\\nPolicy pack:\\n\\d+ policies \\(${stack}\\) over ${total} resources: 0 mandatory, \\d+ advisory violations?`));
            assert.match(io.stdout, /\nNetwork flows:\nFlow +Direction +Exposure +Restricted by\n-+ +-+/);
            assert.match(io.stdout, /Management → EKS API/);
        });
    }

    it("prod: 3 AZs, 3 NAT gateways, the S3 gateway endpoint on the private route tables, a private EKS endpoint", async () => {
        const io = capture();
        const json = path.join(tmp, "prod-shape.json");
        assert.equal(await runPreview("prod", { dir: ROOT, json }, io), 0, io.stderr);
        const resources: any[] = JSON.parse(fs.readFileSync(json, "utf8")).deployment.resources;
        const ofType = (t: string) => resources.filter((r) => r.type === t);
        const subnets = ofType("aws:ec2/subnet:Subnet");
        assert.equal(subnets.length, 6);
        assert.equal(new Set(subnets.map((s) => s.inputs.availabilityZone)).size, 3, "subnets in 3 AZs");
        assert.equal(ofType("aws:ec2/natGateway:NatGateway").length, 3);
        const s3 = ofType("aws:ec2/vpcEndpoint:VpcEndpoint").filter((e) => e.inputs.vpcEndpointType === "Gateway" && /\.s3$/.test(e.inputs.serviceName));
        assert.equal(s3.length, 1, "one S3 gateway endpoint");
        assert.equal(s3[0].inputs.routeTableIds.length, 3, "on the 3 private route tables");
        const cluster = ofType("eks:index:Cluster")[0];
        assert.equal(cluster.inputs.endpointPrivateAccess, true);
        // privateEndpointOnly: true with no phase yet: the first up bootstraps through the restricted public endpoint.
        assert.equal(cluster.inputs.endpointPublicAccess, true, "phase bootstrap");
        assert.deepEqual(cluster.inputs.publicAccessCidrs, ["203.0.113.0/28", "198.51.100.16/28"]);
    });

    it("--json writes a snapshot in `pulumi stack export` shape", async () => {
        const io = capture();
        const json = path.join(tmp, "nested", "dev.json");
        assert.equal(await runPreview("dev", { dir: ROOT, json }, io), 0, io.stderr);
        assert.match(io.stdout, new RegExp(`Snapshot written to ${json.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
        const snapshot = JSON.parse(fs.readFileSync(json, "utf8"));
        assert.equal(snapshot.version, 3);
        const resources: any[] = snapshot.deployment.resources;
        assert.ok(Array.isArray(resources) && resources.length > 10);
        const urns = new Set(resources.map((r) => r.urn));
        assert.equal(urns.size, resources.length, "URNs are unique");
        for (const r of resources) {
            assert.match(r.urn, /^urn:pulumi:dev::byoc::/);
            assert.equal(typeof r.type, "string");
            assert.equal(typeof r.inputs, "object", `${r.urn} has inputs`);
            assert.equal(typeof r.outputs, "object", `${r.urn} has outputs`);
            assert.ok(Array.isArray(r.dependencies), `${r.urn} has dependencies`);
            for (const d of r.dependencies) assert.ok(urns.has(d), `${r.urn} depends on a resource of the snapshot: ${d}`);
        }
        const roots = resources.filter((r) => r.parent === undefined);
        assert.deepEqual(roots.map((r) => r.type), ["pulumi:pulumi:Stack"], "every resource but the stack has a parent");
        for (const r of resources.filter((x) => x.parent !== undefined)) assert.ok(urns.has(r.parent), `${r.urn}'s parent is in the snapshot`);
        const cluster = resources.find((r) => r.type === "eks:index:Cluster");
        assert.deepEqual(cluster.inputs.publicAccessCidrs, ["203.0.113.0/28", "198.51.100.16/28"], "dev's public API endpoint is restricted to the management CIDRs");
        const vpc = resources.find((r) => r.type === "aws:ec2/vpc:Vpc");
        assert.equal(vpc.inputs.cidrBlock, "10.20.0.0/20");
        assert.match(vpc.id, /^vpc-/);
        assert.equal(resources.find((r) => r.urn === vpc.parent).type, "byoc:index:DataPlaneNetwork");
    });

    describe("bad stack files exit 2 and name each offending key", () => {
        const bad: [string, Record<string, unknown>, RegExp[]][] = [
            ["bad-cidr", { "byoc:network": { vpcCidr: "10.40.0.300/16", azCount: 3, natGateways: "perAz" } }, [/byoc:network\.vpcCidr = "10\.40\.0\.300\/16": is not a CIDR/]],
            ["missing-key", { "byoc:telemetry": undefined }, [/byoc:telemetry: is required: a map with keys billingBucketArn, stateQueueArn, alertWebhookUrl/]],
            ["unknown-key", { "byoc:network": { vpcCidr: "10.40.0.0/16", azcount: 3 } }, [/byoc:network\.azcount = 3: is not a known key; allowed keys are vpcCidr, azCount, natGateways, peering/]],
            [
                "world-open",
                { "byoc:ingress": prodSection("byoc:ingress", { ipAllowList: ["192.0.2.0/24", "0.0.0.0/0"] }) },
                [/byoc:ingress\.ipAllowList\[1\] = "0\.0\.0\.0\/0": is not allowed in prod/],
            ],
            [
                "all-four",
                {
                    "byoc:network": { vpcCidr: "10.40.0.300/16", azcount: 3 },
                    "byoc:telemetry": undefined,
                    "byoc:ingress": prodSection("byoc:ingress", { ipAllowList: ["0.0.0.0/0"] }),
                },
                [/byoc:network\.vpcCidr = /, /byoc:network\.azcount = 3/, /byoc:telemetry: is required/, /byoc:ingress\.ipAllowList\[0\] = "0\.0\.0\.0\/0"/],
            ],
        ];
        for (const [stack, overrides, expected] of bad) {
            it(stack, async () => {
                fs.writeFileSync(path.join(tmp, `Pulumi.${stack}.yaml`), prodYaml(overrides));
                const io = capture();
                assert.equal(await runPreview(stack, { dir: tmp, json: path.join(tmp, `${stack}.json`) }, io), 2, io.stdout);
                assert.equal(io.stdout, "", "nothing is built or printed");
                assert.ok(!fs.existsSync(path.join(tmp, `${stack}.json`)), "no snapshot is written");
                assert.match(io.stderr, new RegExp(`^Invalid stack configuration in Pulumi\\.${stack}\\.yaml \\(${expected.length} problems?\\):\\n`));
                for (const re of expected) assert.match(io.stderr, re);
                assert.equal(io.stderr.trim().split("\n").length, 1 + expected.length, "one line per problem");
            });
        }

        it("a missing stack file and invalid YAML exit 2 too", async () => {
            let io = capture();
            assert.equal(await runPreview("absent", { dir: tmp }, io), 2);
            assert.match(io.stderr, /Pulumi\.absent\.yaml: stack file not found; create Pulumi\.absent\.yaml/);
            fs.writeFileSync(path.join(tmp, "Pulumi.broken.yaml"), "config:\n  byoc:network: {vpcCidr: 10.40.0.0/16\n");
            io = capture();
            assert.equal(await runPreview("broken", { dir: tmp }, io), 2);
            assert.match(io.stderr, /Pulumi\.broken\.yaml: is not valid YAML: /);
        });
    });

    it("as a child process: a bad file exits 2 with the problems and no stack trace", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "byoc-preview-cli-"));
        try {
            fs.writeFileSync(path.join(dir, "Pulumi.bad.yaml"), prodYaml({ "byoc:network": { vpcCidr: "10.40.0.0/16", azcount: 3 }, "byoc:telemetry": undefined }));
            const run = spawnSync(process.execPath, ["--require", "./cli/register.js", "cli/preview.ts", "bad", "--dir", dir], { cwd: ROOT, encoding: "utf8", timeout: 60000 });
            assert.equal(run.status, 2, `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
            assert.equal(run.stdout, "");
            assert.match(run.stderr, /byoc:network\.azcount = 3: is not a known key/);
            assert.match(run.stderr, /byoc:telemetry: is required/);
            assert.doesNotMatch(run.stderr, /^\s+at /m, "no stack trace");
            assert.doesNotMatch(run.stderr, /Error:/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

/** A prod stack whose grant's CSR names someone else: TroubleshootingAccess rejects its arguments. */
function badGrantYaml(): string {
    const csrPem = fs.readFileSync(path.join(ROOT, "test", "fixtures", "stacks", "engineer.csr"), "utf8"); // CN alice@example.com
    const grant = { id: "mallory", engineer: "mallory@example.com", csrPem, reason: "INC-1 slow merges", approvedBy: "lead@example.com", notAfter: new Date(Date.now() + 3 * 3600_000).toISOString() };
    return prodYaml({ "byoc:access": prodSection("byoc:access", { grants: [grant] }) });
}

/** The SDK's own log lines (`warning: [runtime] …`, what `pulumi preview` would show as warnings) are not ours to judge. */
const withoutSdkWarnings = (text: string) => text.replace(/^warning: \[runtime\] .*\n/gm, "");

const BYOC = path.join(ROOT, "cli", "byoc.js");
const ENTRIES: [string, string[]][] = [
    ["npm run preview --", ["--require", "./cli/register.js", "cli/preview.ts"]],
    ["npx byoc preview", [BYOC, "preview"]],
];

function node(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
    const env = { ...process.env, ...opts.env };
    if (!opts.env?.BYOC_DEBUG) delete env.BYOC_DEBUG;
    return spawnSync(process.execPath, args, { cwd: opts.cwd ?? ROOT, encoding: "utf8", timeout: 120000, env, maxBuffer: 64 << 20 });
}

describe("cli/preview: errors, --json -, mock marking, --all", function () {
    this.timeout(180000);
    let tmp: string;
    before(() => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "byoc-preview-more-"));
        fs.writeFileSync(path.join(tmp, "Pulumi.grant.yaml"), badGrantYaml());
    });
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    for (const [name, entry] of ENTRIES) {
        it(`${name}: a component rejecting its arguments prints one line and exits 1, without a stack trace`, () => {
            const run = node([...entry, "grant", "--dir", tmp]);
            assert.equal(run.status, 1, run.stderr.slice(0, 3000));
            assert.equal(run.stdout, "");
            const lines = run.stderr.trimEnd().split("\n");
            assert.equal(lines.length, 2, `one header and one line per problem, got ${lines.length}:\n${run.stderr.slice(0, 2000)}`);
            assert.equal(lines[0], "The program failed for stack grant:");
            assert.match(lines[1], /^ {2}TroubleshootingAccess .*mallory.*"alice@example\.com"/);
            assert.doesNotMatch(run.stderr, /^\s+at |Node\.js v|triggerUncaughtException|\[ResourceError/m);
        });
    }

    it("BYOC_DEBUG=1 adds the stack trace, pointing at the TypeScript source", () => {
        const run = node([BYOC, "preview", "grant", "--dir", tmp], { env: { BYOC_DEBUG: "1" } });
        assert.equal(run.status, 1);
        assert.match(run.stderr, /^\s+at new TroubleshootingAccess \(.*components\/TroubleshootingAccess\.ts:\d+:\d+\)$/m);
        assert.doesNotMatch(run.stderr, /Node\.js v|triggerUncaughtException/);
    });

    it("--json - writes the snapshot to stdout, the human output to stderr, and no file named -", () => {
        const cwd = fs.mkdtempSync(path.join(tmp, "cwd-"));
        const run = node([BYOC, "preview", "dev", "--dir", ROOT, "--json", "-"], { cwd });
        assert.equal(run.status, 0, run.stderr);
        const snapshot = JSON.parse(run.stdout);
        assert.equal(snapshot.version, 3);
        assert.ok(snapshot.deployment.resources.length > 10);
        const human = withoutSdkWarnings(run.stderr);
        assert.match(human, /^Stack dev \(dev, customer acme-dev, us-east-1\): \d+ resources\n/);
        assert.match(human, /\nNetwork flows:\n/);
        assert.doesNotMatch(run.stderr, /Snapshot written/);
        assert.deepEqual(fs.readdirSync(cwd), [], "nothing written to the working directory");
    });

    it("--json - in-process: io.out gets only the JSON", async () => {
        const io = capture();
        assert.equal(await runPreview("dev", { dir: ROOT, json: "-" }, io), 0, io.stderr);
        assert.equal(JSON.parse(io.stdout).deployment.resources[0].type, "pulumi:pulumi:Stack");
        assert.match(io.stderr, /^Stack dev /);
    });

    it("marks what the mocks made up, fits the flow table in 120 columns, and leaves facts unmarked", async () => {
        const io = capture();
        const json = path.join(tmp, "prod-marks.json");
        assert.equal(await runPreview("prod", { dir: ROOT, json }, io), 0, io.stderr);
        const resources: any[] = JSON.parse(fs.readFileSync(json, "utf8")).deployment.resources;
        const endpoint = resources.find((r) => r.type === "aws:ec2/vpcEndpoint:VpcEndpoint" && /\.s3$/.test(r.inputs.serviceName));
        const flows = io.stdout.slice(io.stdout.indexOf("\nNetwork flows:\n"), io.stdout.indexOf("\nOutside Pulumi"));
        for (const line of flows.split("\n")) assert.ok(line.length <= 120, `${line.length} columns: ${line}`);
        assert.match(flows, /S3 gateway endpoint vpce-… \(mock\)/);
        assert.ok(!io.stdout.includes(endpoint.id), "the made-up endpoint id itself is not printed");
        assert.match(flows, /arn:aws:sqs:us-east-1:111122223333:byoc-state;/, "the queue ARN comes from the stack config: not marked");
        assert.match(flows, /203\.0\.113\.0\/28,/, "nor are the management CIDRs");
        assert.match(io.stdout, /Delegate acme\.byoc\.example\.com to ns-\d+\.awsdns-\d+\.com \(mock\)/, "name servers in the operator actions");
        assert.match(io.stdout, /\n\(mock\): made up by the offline preview's mocks; `pulumi up` gets the real ids, ARNs, addresses and names\n/);
    });

    it("usage errors exit 2: no stack, a stack and --all, --all with --json -", () => {
        for (const args of [[], ["prod", "--all"], ["--all", "--json", "-"]]) {
            for (const [name, entry] of ENTRIES) {
                const run = node([...entry, ...args]);
                assert.equal(run.status, 2, `${name} ${args.join(" ")}: ${run.stderr}`);
                assert.match(run.stderr, /^error: /);
            }
        }
    });

    it("--all: every Pulumi.<stack>.yaml of the directory in one process, one line each, totals, exit the worst", () => {
        const dir = fs.mkdtempSync(path.join(tmp, "fleet-"));
        fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml")); // the project file is no stack
        fs.writeFileSync(path.join(dir, "Pulumi.alpha.yaml"), prodYaml({ "byoc:customer": { id: "alpha", name: "Alpha" }, "byoc:access": { ...(readStackFile("prod", ROOT).raw["byoc:access"] as object), deployRoleArn: "arn:aws:iam::111122223333:role/byoc-bootstrap-alpha-deploy" }, "byoc:ingress": { ...(readStackFile("prod", ROOT).raw["byoc:ingress"] as object), domain: "alpha.byoc.example.com" } }));
        fs.copyFileSync(path.join(ROOT, "Pulumi.dev.yaml"), path.join(dir, "Pulumi.beta.yaml"));
        fs.writeFileSync(path.join(dir, "Pulumi.grant.yaml"), badGrantYaml());
        fs.writeFileSync(path.join(dir, "Pulumi.typo.yaml"), prodYaml({ "byoc:network": { vpcCidr: "10.40.0.0/16", azcount: 3 } }));
        const out = path.join(dir, "snapshots");
        const run = node([BYOC, "preview", "--all", "--dir", dir, "--json", out]);
        assert.equal(run.status, 2, `the worst is the invalid config\n${run.stdout}\n${run.stderr}`);
        const lines = run.stdout.trimEnd().split("\n");
        assert.equal(lines.length, 5, run.stdout);
        assert.match(lines[0], /^alpha {2}exit 0 +\d+ resources {2}policy 0 mandatory, \d+ advisory {2}\(\d+\.\d s\)$/);
        assert.match(lines[1], /^beta {3}exit 0 +\d+ resources {2}policy 0 mandatory/);
        assert.match(lines[2], /^grant {2}exit 1 {2}program failed: TroubleshootingAccess .*mallory/);
        assert.match(lines[3], /^typo {3}exit 2 {2}invalid config, 1 problem: byoc:network\.azcount/);
        assert.match(lines[4], /^4 stacks, \d+ resources in \d+\.\d s: 2 clean, 0 with mandatory violations, 1 program error, 1 invalid config; snapshots in .* — exit 2$/);
        assert.equal(withoutSdkWarnings(run.stderr), "", "nothing else: no trace, no warning of ours");
        assert.deepEqual(fs.readdirSync(out).sort(), ["alpha.json", "beta.json"]);
        const alpha = JSON.parse(fs.readFileSync(path.join(out, "alpha.json"), "utf8"));
        assert.ok(alpha.deployment.resources.every((r: { urn: string }) => r.urn.startsWith("urn:pulumi:alpha::byoc::")));
    });

    it("--all in-process: exit 1 when the worst is a program error; 2 for a directory without stacks", async () => {
        const dir = fs.mkdtempSync(path.join(tmp, "fleet2-"));
        fs.copyFileSync(path.join(ROOT, "Pulumi.dev.yaml"), path.join(dir, "Pulumi.dev.yaml"));
        fs.writeFileSync(path.join(dir, "Pulumi.grant.yaml"), badGrantYaml());
        const io = capture();
        assert.equal(await runPreviewAll({ dir }, io), 1, io.stdout + io.stderr);
        const lines = io.stdout.trimEnd().split("\n");
        assert.equal(lines.length, 3, io.stdout);
        assert.match(lines[0], /^dev {4}exit 0 /);
        assert.match(lines[1], /^grant {2}exit 1 /);
        assert.match(lines[2], /^2 stacks, .*: 1 clean, 0 with mandatory violations, 1 program error, 0 invalid config — exit 1$/);
        const empty = fs.mkdtempSync(path.join(tmp, "empty-"));
        const io2 = capture();
        assert.equal(await runPreviewAll({ dir: empty }, io2), 2);
        assert.match(io2.stderr, /no Pulumi\.<stack>\.yaml in /);
    });
});
