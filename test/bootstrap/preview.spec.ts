// `npm run preview -- --project bootstrap <stack> [--json FILE]`: the offline preview of the bootstrap project.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { previewCommand, runBootstrapPreview } from "../../cli/preview";

const BOOTSTRAP = path.resolve(__dirname, "../../bootstrap");

function capture() {
    const out: string[] = [];
    const err: string[] = [];
    return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

describe("bootstrap: offline preview (--project bootstrap)", () => {
    it("previews bootstrap/Pulumi.acme.yaml: exit 0, the tree, the outputs the provider needs, the ExternalId never shown", async () => {
        const c = capture();
        assert.equal(await runBootstrapPreview("acme", { dir: BOOTSTRAP }, c.io), 0, c.err.join("\n"));
        const text = c.out.join("\n");
        assert.match(text, /Bootstrap stack acme \(customer acme, account 111122223333, us-east-1\)/);
        assert.match(text, /aws:iam\/role:Role  byoc-bootstrap-acme-deploy/);
        assert.match(text, /deployRoleArn: arn:aws:iam::111122223333:role\/byoc-bootstrap-acme-deploy/);
        assert.match(text, /boundaryArn: arn:aws:iam::111122223333:policy\/byoc-bootstrap-acme-boundary/);
        assert.match(text, /workloadBoundaryArn: arn:aws:iam::111122223333:policy\/byoc-bootstrap-acme-workload-boundary/);
        assert.match(text, /externalId: \[secret\]/);
        assert.ok(!text.includes("offline-preview-placeholder"));
    });

    it("--json writes the snapshot in stack-export shape, under the byoc-bootstrap project", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "byoc-bootstrap-"));
        const file = path.join(dir, "acme.json");
        const c = capture();
        assert.equal(await runBootstrapPreview("acme", { dir: BOOTSTRAP, json: file }, c.io), 0);
        const snapshot = JSON.parse(fs.readFileSync(file, "utf8"));
        const urns: string[] = snapshot.deployment.resources.map((r: { urn: string }) => r.urn);
        assert.ok(urns.includes("urn:pulumi:acme::byoc-bootstrap::byoc-bootstrap:index:VendorAccess$aws:iam/role:Role::byoc-bootstrap-acme-deploy"), urns.join("\n"));
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("invalid config exits 2 with one line per problem naming key, value and what is allowed", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "byoc-bootstrap-"));
        const text = fs.readFileSync(path.join(BOOTSTRAP, "Pulumi.acme.yaml"), "utf8").replace("vendorAccess: enabled", "vendorAccess: off").replace("breakGlass: closed", "breakGlass: ajar");
        fs.writeFileSync(path.join(dir, "Pulumi.broken.yaml"), text);
        const c = capture();
        assert.equal(await runBootstrapPreview("broken", { dir }, c.io), 2);
        const err = c.err.join("\n");
        assert.match(err, /\(2 problems\)/);
        assert.match(err, /byoc-bootstrap:vendorAccess = "off": must be "enabled" or "suspended"/);
        assert.match(err, /byoc-bootstrap:breakGlass = "ajar": must be "open" or "closed"/);
        assert.equal(await runBootstrapPreview("missing", { dir }, c.io), 2);
        assert.match(c.err.join("\n"), /stack file not found/);
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("the command line routes --project bootstrap; --all and unknown projects are usage errors (exit 2)", async () => {
        let code = -1;
        const c = capture();
        const cmd = previewCommand(c.io, (n) => (code = n)).exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
        await cmd.parseAsync(["node", "preview", "--project", "bootstrap", "acme", "--dir", BOOTSTRAP]);
        assert.equal(code, 0);
        for (const args of [["--project", "bootstrap", "--all"], ["--project", "infra", "acme"]]) {
            const bad = previewCommand(c.io, (n) => (code = n)).exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
            await assert.rejects(bad.parseAsync(["node", "preview", ...args]), (e: any) => e.exitCode === 2);
        }
    });
});
