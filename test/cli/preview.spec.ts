// `npm run preview -- <stack>` end to end: the CLI entry in-process (io captured), and once as a child process.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stringify } from "yaml";
import { runPreview, Io } from "../../cli/preview";
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
            assert.match(io.stdout, /^ {2}└─ byoc:index:DataPlaneNetwork {2}/m);
            assert.match(io.stdout, /^ {4}└─ aws:ec2\/vpc:Vpc {2}/m);
            assert.match(io.stdout, /^ {4}└─ eks:index:Cluster {2}/m);
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
