import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import {
    collectProviderPowersInput, currentSection, ProviderPowersInput, renderProviderPowers, replaceSection, BEGIN_MARKER, END_MARKER, WRITE_COMMAND,
} from "../../preview/providerPowers";
import { vendorTrustPolicy } from "../../bootstrap/policies";
import { ROOT, runStack } from "../harness";

/** The text of one `#### …` subsection of the section. */
function subsection(section: string, heading: string): string {
    const at = section.indexOf(`#### ${heading}`);
    assert.ok(at >= 0, `no subsection "#### ${heading}" in:\n${section.slice(0, 2000)}`);
    const next = section.indexOf("\n#### ", at + 5);
    return section.slice(at, next < 0 ? undefined : next);
}

/** The table row of a README table whose first cell names `first`. */
function row(text: string, first: string): string {
    const line = text.split("\n").find((l) => l.startsWith(`| ${first}`));
    assert.ok(line, `no table row starting with ${first}`);
    return line!;
}

describe("README: What the provider can do in your account (preview/providerPowers.ts)", () => {
    let input: ProviderPowersInput;
    let section: string;

    before(async () => {
        const started = Date.now();
        input = await collectProviderPowersInput();
        section = renderProviderPowers(input);
        // Informational: the generator runs four programs (prod, dev, prod + a grant, prod suspended).
        if (process.env.BYOC_DEBUG) process.stderr.write(`      providerPowers: ${Date.now() - started} ms\n`);
    });

    it("README.md holds exactly what the generator renders from the program (regenerate after a change)", () => {
        const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
        const inReadme = currentSection(readme);
        assert.ok(inReadme !== undefined, `README.md has no ${BEGIN_MARKER} … ${END_MARKER} markers`);
        if (inReadme !== section) {
            const a = inReadme!.split("\n");
            const b = section.split("\n");
            const first = a.findIndex((l, i) => l !== b[i]);
            assert.fail(
                `README.md's "What the provider can do in your account" is out of date with the program (roles, policies or paths changed); ` +
                    `run \`${WRITE_COMMAND}\` and commit the result.\nFirst difference at line ${first + 1} of the section:\n  README:    ${a[first] ?? "(end)"}\n  generated: ${b[first] ?? "(end)"}`,
            );
        }
    });

    it("names the deploy role's conditions: the ExternalId (never its value), a source identity, sessions of at most an hour", () => {
        const roles = subsection(section, "Roles the provider can assume");
        const deploy = row(roles, `\`${input.bootstrap.roleNames.deploy}\``);
        assert.match(deploy, /`sts:ExternalId` = the ExternalId you set/);
        assert.match(deploy, /a source identity is set \(`sts:SourceIdentity`/);
        assert.match(deploy, /`sts:SetSourceIdentity`/);
        assert.match(deploy, /≤ 60 min/);
        for (const p of ["arn:aws:iam::444455556666:role/byoc-deployer", "arn:aws:iam::444455556666:role/byoc-support"]) assert.ok(deploy.includes(p), `deploy trust names ${p}`);
        assert.match(row(roles, `\`${input.bootstrap.roleNames.breakGlass}\``), /closed \(default\): \*\*nobody\*\*/);
    });

    it("lists the boundary's denials: IAM users and keys, removing the boundary, account-wide calls", () => {
        const denies = subsection(section, "What the boundary denies");
        assert.match(row(denies, "`NoIamUsersOrKeys`"), /No IAM users or keys.*iam:\{[^}]*\*AccessKey[^}]*CreateUser/);
        assert.match(row(denies, "`NoBoundaryRemoval`"), /DeleteRolePermissionsBoundary/);
        const accountWide = row(denies, "`NothingAccountWide`");
        for (const a of ["`organizations:*`", "`account:*`", "`cloudtrail:"]) assert.ok(accountWide.includes(a), `account-wide denial names ${a}`);
        // The provider's roles may create only roles under the workload boundary.
        assert.match(row(denies, "`RolesCarryTheWorkloadBoundary`"), /the role does not carry the boundary `arn:aws:iam::111122223333:policy\/byoc-bootstrap-acme-workload-boundary`/);
        const workload = subsection(section, "The workload boundary");
        assert.match(row(workload, "`DataLeavesOnlyToNamedDestinations`"), /s3:PutObject/);
        assert.match(row(workload, "`NotTheCustomersOtherResources`"), /secretsmanager/);
    });

    it("shows every IAM role of the prod snapshot, with its trust and the boundary", async () => {
        const prod = await runStack("prod");
        const roles = prod.ofType("aws:iam/role:Role");
        assert.ok(roles.length >= 5, `prod creates ${roles.length} roles`);
        const text = subsection(section, "Stack `prod`");
        for (const r of roles) assert.ok(text.includes(`\`${r.name}-…\``) || text.includes(`\`${r.inputs.name}\``), `the prod section shows role ${r.name}`);
        const lbc = row(text, "`byoc-acme-lbc-…`");
        assert.match(lbc, /EKS Pod Identity/);
        assert.match(lbc, /`kube-system\/aws-load-balancer-controller`/);
        assert.match(text, /Management → EKS API/);
        assert.match(text, /Engineer → tailnet/);
    });

    it("shows what a troubleshooting grant adds: its role, trusted until notAfter, and EKS view access", () => {
        const grant = subsection(section, "What a troubleshooting grant adds");
        assert.match(grant, /the session name is `engineer@example\.com`/);
        assert.match(grant, /it is before `2026-11-25T16:00:00\.000Z`/);
        assert.match(grant, /`AmazonEKSViewPolicy` \(whole cluster\)/);
    });

    it("prints no secret: no ExternalId, no ciphertext, no stand-in the offline runs used", () => {
        assert.ok(input.secrets.length >= 2);
        for (const s of input.secrets) assert.ok(!section.includes(s), "a secret value is in the section");
        assert.doesNotMatch(section, /secure:|placeholder-external-id|AAABA/);
        // The renderer redacts by key, not only by the list: an ExternalId it was never told about stays hidden too.
        const externalId = "Another-ExternalId-0123456789";
        const vendorTrust = vendorTrustPolicy({ principals: ["arn:aws:iam::444455556666:role/byoc-deployer"], externalId });
        const other = renderProviderPowers({ ...input, bootstrap: { ...input.bootstrap, documents: { ...input.bootstrap.documents, vendorTrust } } });
        assert.ok(!other.includes(externalId));
        assert.match(other, /the ExternalId you set/);
        // And a listed secret that reaches the text anyway (here as a principal) stops the rendering.
        const leaking = vendorTrustPolicy({ principals: [`arn:aws:iam::444455556666:role/${externalId}`], externalId: "x".repeat(16) });
        assert.throws(
            () => renderProviderPowers({ ...input, secrets: [...input.secrets, externalId], bootstrap: { ...input.bootstrap, documents: { ...input.bootstrap.documents, vendorTrust: leaking } } }),
            /would contain a secret value/,
        );
    });

    it("is deterministic: the order resources were recorded in does not change the text", () => {
        const reversed: ProviderPowersInput = {
            ...input,
            stacks: input.stacks.map((s) => (s.ok ? { ...s, resources: [...s.resources].reverse(), flows: [...s.flows].reverse() } : s)),
        };
        assert.equal(renderProviderPowers(reversed), section);
        assert.equal(renderProviderPowers(input), section);
    });

    it("renders the suspended subsection from the bootstrap side only when the schema rejects byoc:access.vendorAccess", () => {
        const rejected = renderProviderPowers({
            ...input,
            suspended: { stack: "prod", file: "Pulumi.prod.yaml", ok: false, reason: 'Pulumi.prod.yaml does not validate: byoc:access.vendorAccess: unknown key', problemPaths: ["byoc:access.vendorAccess"] },
        });
        const text = subsection(rejected, "When vendor access is suspended");
        assert.match(text, /does not accept `byoc:access.vendorAccess: suspended`/);
        assert.match(text, /bootstrap side only/);
        assert.match(text, /`AWSRevokeOlderSessions`: \*\*Deny\*\* `\*` \(every action\) on any resource, when the session was issued before `<suspendedAt>`/);
        assert.match(text, /trust becomes \*\*nobody\*\*/);
    });

    it("replaces only the text between the markers", () => {
        const readme = `# Title\n\nbefore\n${BEGIN_MARKER}\nold\ntext\n${END_MARKER}\nafter\n`;
        const next = replaceSection(readme, "new");
        assert.equal(next, `# Title\n\nbefore\n${BEGIN_MARKER}\nnew\n${END_MARKER}\nafter\n`);
        assert.equal(currentSection(next), "new");
        assert.throws(() => replaceSection("no markers", "x"), /markers/);
    });
});
