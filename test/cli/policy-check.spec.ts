import { strict as assert } from "assert";
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runPolicyCheck } from "../../cli/policy-check";

const ROOT = path.join(__dirname, "..", "..");
const FIX = path.join(ROOT, "test", "fixtures", "policy");
const fx = (f: string) => path.join(FIX, f);

function run(argv: string[]) {
    let out = "";
    let err = "";
    const code = runPolicyCheck(argv, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } });
    return { code, out, err };
}

describe("byoc policy check (in-process)", () => {
    it("stack export, compliant: exit 0 and a summary", () => {
        const r = run([fx("export-clean.json")]);
        assert.equal(r.code, 0, r.out + r.err);
        assert.match(r.out, /stack-export, env dev from tags/);
        assert.match(r.out, /Summary: 12 resources checked against 22 policies: 0 mandatory/);
        assert.equal(r.err, "");
    });
    it("stack export with violations: exit 1, each violation with rule, enforcement, URN and message", () => {
        const r = run([fx("export-violations.json")]);
        assert.equal(r.code, 1);
        assert.match(r.out, /env prod from tags/);
        assert.match(r.out, /MANDATORY mandatory-ip-filter\n\s+urn:pulumi:prod::byoc-dataplane::kubernetes:core\/v1:Service::istio-ingressgateway\n\s+LoadBalancer Service 'istio-ingressgateway' allows 0\.0\.0\.0\/0 in prod/);
        assert.match(r.out, /no-inbound-to-tailscale-stack/);
        assert.match(r.out, /least-privilege-telemetry[\s\S]*wildcard action\(s\) s3:\*/); // from a plaintext secret
        assert.match(r.out, /private-endpoints[\s\S]*acme-eks/);
        assert.match(r.out, /Result: FAILED/);
    });
    it("--json prints the report", () => {
        const r = run([fx("export-violations.json"), "--json"]);
        assert.equal(r.code, 1);
        const rep = JSON.parse(r.out);
        assert.equal(rep.format, "stack-export");
        assert.equal(rep.environment, "prod");
        assert.equal(rep.mandatoryCount, 8, "5 network findings, its EKS cluster and bucket without a customer-managed key (customer-managed-keys), and a prod stack without the deploy role (deploy-role-boundary)");
        assert.ok(rep.violations.every((v: { policy: string; enforcementLevel: string; message: string }) => v.policy && v.enforcementLevel && /Remediation:/.test(v.message)));
    });
    it("--env overrides the tags and selects that environment's enforcement", () => {
        const r = run([fx("export-violations.json"), "--env", "dev", "--json"]);
        const rep = JSON.parse(r.out);
        assert.equal(rep.environment, "dev");
        assert.equal(rep.environmentSource, "flag");
        assert.ok(!rep.violations.some((v: { policy: string }) => v.policy === "mandatory-ip-filter" && /0\.0\.0\.0\/0 in prod/.test(JSON.stringify(v))));
    });
    it("--config applies a custom pack config", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "policy-cfg-"));
        const cfg = path.join(dir, "lenient.json");
        fs.writeFileSync(cfg, JSON.stringify({ all: "advisory" }));
        const r = run([fx("export-violations.json"), "--config", cfg]);
        assert.equal(r.code, 0);
        assert.match(r.out, /0 mandatory, 8 advisory/);
        fs.writeFileSync(cfg, JSON.stringify({ "no-such-rule": "mandatory" }));
        const bad = run([fx("export-violations.json"), "--config", cfg]);
        assert.equal(bad.code, 2);
        assert.match(bad.err, /unknown policy "no-such-rule"/);
    });
    it("old checkpoint layout: b64 secrets are decoded and judged", () => {
        const r = run([fx("checkpoint-legacy.json")]);
        assert.equal(r.code, 1);
        assert.match(r.out, /checkpoint, env dev/);
        assert.match(r.out, /Auth key 'acme-k8s-agent': it is reusable; it expires after 7776000s/);
    });
    it("preview --json: unknowns joined through propertyDependencies; environment from the preview config", () => {
        const r = run([fx("preview.json")]);
        assert.equal(r.code, 1);
        assert.match(r.out, /preview, env prod from document/);
        assert.match(r.out, /Ingress rule 'agent-https'/);
        assert.match(r.out, /13 resources checked/);
    });
    it("one malformed resource is reported, the others are checked", () => {
        const r = run([fx("export-malformed-resource.json")]);
        assert.equal(r.code, 1); // the open security group is still found
        assert.match(r.out, /Malformed resources \(skipped\):/);
        assert.match(r.out, /Subnet::broken: malformed resource skipped: missing or invalid "type"/);
        assert.match(r.out, /BucketV2::weird: malformed resource skipped: "props" is not an object/);
        assert.match(r.out, /resource #5: resource is not an object/);
        assert.match(r.out, /Security group 'open' ingress\[0\]/);
        assert.match(r.out, /3 malformed resource\(s\)/);
        const rep = JSON.parse(run([fx("export-malformed-resource.json"), "--json"]).out);
        assert.equal(rep.errors.length, 3);
    });
    for (const [file, re] of [
        ["bad-json.json", /bad-json\.json is not valid JSON/],
        ["no-deployment.json", /missing "deployment"/],
        ["resources-not-array.json", /deployment\.resources is not an array/],
        ["does-not-exist.json", /cannot read .*no such file/],
    ] as const) {
        it(`unreadable input ${file}: exit 2 with one clear line, no stack trace`, () => {
            const r = run([fx(file)]);
            assert.equal(r.code, 2);
            assert.equal(r.out, "");
            assert.match(r.err, re);
            assert.equal(r.err.trim().split("\n").length, 1);
            assert.doesNotMatch(r.err, /\n\s+at /);
        });
    }
    it("usage errors exit 2, --help exits 0", () => {
        assert.equal(run([]).code, 2);
        assert.equal(run([fx("export-clean.json"), "--env", "staging"]).code, 2);
        assert.equal(run(["--help"]).code, 0);
    });
});

describe("byoc policy check: strict defaults", () => {
    let dir: string;
    const write = (name: string, doc: unknown) => {
        const f = path.join(dir, name);
        fs.writeFileSync(f, JSON.stringify(doc));
        return f;
    };
    // A world-open LoadBalancer Service without byoc:environment tags: allowed in dev, a mandatory violation in prod.
    const openService = (tags?: Record<string, string>) => ({
        version: 3,
        deployment: {
            resources: [
                { urn: "urn:pulumi:x::p::pulumi:pulumi:Stack::p-x", type: "pulumi:pulumi:Stack", custom: false },
                ...(tags ? [{ urn: "urn:pulumi:x::p::aws:ec2/vpc:Vpc::v", type: "aws:ec2/vpc:Vpc", custom: true, inputs: { cidrBlock: "10.0.0.0/16", tags } }] : []),
                {
                    urn: "urn:pulumi:x::p::kubernetes:core/v1:Service::gw",
                    type: "kubernetes:core/v1:Service",
                    custom: true,
                    inputs: { metadata: { name: "gw", namespace: "istio-ingress" }, spec: { type: "LoadBalancer", loadBalancerSourceRanges: ["0.0.0.0/0"], ports: [{ port: 443 }] } },
                },
            ],
        },
    });
    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "policy-strict-"));
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("an export that declares no environment is judged with prod enforcement (README: the strict setting)", () => {
        const r = run([write("untagged.json", openService())]);
        assert.equal(r.code, 1, r.out + r.err);
        assert.match(r.out, /env prod from default, config policies\/config\/prod\.json/);
        assert.match(r.out, /MANDATORY mandatory-ip-filter/);
        const rep = JSON.parse(run([path.join(dir, "untagged.json"), "--json"]).out);
        assert.deepEqual([rep.environment, rep.environmentSource], ["prod", "default"]);
    });

    it("--env dev on a stack tagged prod warns on stderr (stdout stays the report)", () => {
        const file = write("prod-tagged.json", openService({ "byoc:environment": "prod", "byoc:customer": "acme" }));
        const r = run([file, "--env", "dev", "--json"]);
        assert.equal(r.code, 0, r.err);
        assert.match(r.err, /^byoc policy check: warning: --env dev on a prod stack \(its resources' byoc:environment tags say prod\)/);
        const rep = JSON.parse(r.out);
        assert.equal(rep.environment, "dev");
        assert.equal(rep.warnings.length, 1);
        assert.equal(run([file, "--env", "prod"]).err, "", "no warning when the flag agrees");
        assert.equal(run([write("dev-tagged.json", openService({ "byoc:environment": "dev" })), "--env", "prod"]).err, "", "nor when it is stricter");
    });

    it("a pack config that disables or downgrades a mandatory rule is named in the summary", () => {
        const cfg = write("weak.json", { "mandatory-ip-filter": "disabled", "tls-everywhere": { enforcementLevel: "advisory" } });
        const r = run([write("untagged2.json", openService()), "--config", cfg]);
        assert.equal(r.code, 0, r.out);
        assert.match(r.out, /\nWeakened by .*weak\.json: disabled mandatory-ip-filter; advisory tls-everywhere \(mandatory in policies\/config\/prod\.json\)\.\n/);
        assert.match(r.out, /Result: passed, with 2 mandatory policies not enforced/);
        const rep = JSON.parse(run([path.join(dir, "untagged2.json"), "--config", cfg, "--json"]).out);
        const byPolicy = (a: { policy: string }, b: { policy: string }) => a.policy.localeCompare(b.policy);
        assert.deepEqual([...rep.weakened].sort(byPolicy), [
            { policy: "mandatory-ip-filter", level: "disabled", standard: "mandatory" },
            { policy: "tls-everywhere", level: "advisory", standard: "mandatory" },
        ]);
        assert.doesNotMatch(run([path.join(dir, "untagged2.json")]).out, /Weakened/, "the environment's own config weakens nothing");
    });

    it("an export with no resources is an error (exit 2), not a pass", () => {
        for (const [name, doc] of [
            ["empty.json", { version: 3, deployment: { manifest: {}, resources: [] } }],
            ["no-resources.json", { version: 3, deployment: {} }],
            ["checkpoint-empty.json", { version: 3, checkpoint: { stack: "x", latest: null } }],
            ["preview-empty.json", { steps: [] }],
        ] as const) {
            const r = run([write(name, doc)]);
            assert.equal(r.code, 2, `${name}: ${r.out}`);
            assert.equal(r.out, "");
            assert.match(r.err, new RegExp(`^byoc policy check: .*${name.replace(".", "\\.")}: no resources \\((stack-export|checkpoint|preview)\\): nothing to judge`));
        }
        const allMalformed = run([write("all-malformed.json", { version: 3, deployment: { resources: [{ urn: "urn:pulumi:x::p::a:b:C::c" }, 42] } })]);
        assert.equal(allMalformed.code, 2, "only malformed resources: nothing was judged either");
        assert.match(allMalformed.err, /no well-formed resource to judge \(2 malformed\)/);
    });
});

describe("npx byoc policy check (child process)", function () {
    this.timeout(60000);
    const npx = (args: string[]) =>
        new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
            execFile("npx", ["--no-install", "byoc", "policy", "check", ...args], { cwd: ROOT }, (err, stdout, stderr) => {
                resolve({ code: err ? ((err as { code?: number }).code ?? 99) : 0, stdout, stderr });
            });
        });
    it("runs through the bin launcher with the documented exit codes", async () => {
        const ok = await npx([fx("export-clean.json")]);
        assert.equal(ok.code, 0, ok.stderr);
        assert.match(ok.stdout, /Result: passed/);
        const bad = await npx([fx("preview.json"), "--json"]);
        assert.equal(bad.code, 1, bad.stderr);
        assert.equal(JSON.parse(bad.stdout).format, "preview");
        const broken = await npx([fx("bad-json.json")]);
        assert.equal(broken.code, 2);
        assert.match(broken.stderr, /^byoc policy check: .*not valid JSON/);
    });
});
