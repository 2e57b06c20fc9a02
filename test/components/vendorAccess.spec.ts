// The data plane under the customer's control: every AWS call through the bootstrap's deploy role (ExternalId, a
// source identity), every IAM role under the bootstrap's boundary, the Kubernetes provider signing as that role,
// and `byoc:access.vendorAccess: suspended` leaving no vendor path in the stack.
import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runStack, Stack, stackRaw, unsecret, TEST_SOURCE_IDENTITY } from "../harness";
import { ASSUME_AND_GET_TOKEN, eksTokenExec } from "../../components/render/apiAccess";
import { sourceIdentityFrom } from "../../stacks/sourceIdentity";
import { engineerCsr } from "../support/pki";

const DEPLOY_ROLE = "arn:aws:iam::111122223333:role/byoc-bootstrap-acme-deploy";
const BOUNDARY = "arn:aws:iam::111122223333:policy/byoc-bootstrap-acme-workload-boundary";
const SUPPORT_ROLE = "arn:aws:iam::111122223333:role/byoc-bootstrap-acme-support";

const awsProviders = (s: Stack) => s.ofType("pulumi:providers:aws");
const json = (v: unknown) => (typeof v === "string" ? JSON.parse(v) : v);

describe("vendor access in the data plane (byoc:access.deployRoleArn, vendorAccess)", () => {
    let prod: Stack;
    let dev: Stack;
    before(async () => {
        prod = await runStack("prod");
        dev = await runStack("dev");
    });

    describe("prod deploys through the customer's deploy role", () => {
        it("one explicit AWS provider assumes the deploy role with the ExternalId (secret) and the runner's source identity, pinned to the account; no fixed duration", () => {
            const [p] = awsProviders(prod);
            assert.equal(awsProviders(prod).length, 1);
            assert.equal(p.name, "byoc-acme-aws");
            assert.equal(p.inputs.region, "us-east-1");
            assert.deepEqual(json(p.inputs.allowedAccountIds), ["111122223333"]);
            // The whole assumeRoles is secret in the state: it carries the ExternalId.
            assert.equal(p.inputs.assumeRoles["4dabf18193072939515e22adb298388d"], "1b47061264138c4ac30d75fd1eb44270");
            const [role] = json(unsecret(p.inputs.assumeRoles));
            assert.deepEqual(role, {
                roleArn: DEPLOY_ROLE,
                externalId: "offline-preview-placeholder-external-id",
                sourceIdentity: TEST_SOURCE_IDENTITY,
                sessionName: TEST_SOURCE_IDENTITY,
            });
            assert.equal(p.inputs.forbiddenAccountIds, undefined);
        });

        it("every AWS resource and the EKS component use it; nothing falls back to a default provider", () => {
            const provider = awsProviders(prod)[0].urn;
            const aws = prod.resources.filter((r) => r.custom && r.type.startsWith("aws:"));
            assert.ok(aws.length > 50);
            const strays = aws.filter((r) => !r.provider?.startsWith(`${provider}::`)).map((r) => r.urn);
            assert.deepEqual(strays, []);
            // A remote component gets only the providers handed to it (DataPlaneCluster passes it on).
            assert.ok(prod.one("eks:index:Cluster").providers?.aws?.startsWith(`${provider}::`));
        });

        it("every IAM role carries the customer's boundary, the EKS service role included (not pulumi-eks's own)", () => {
            const roles = prod.ofType("aws:iam/role:Role");
            assert.ok(roles.length >= 9);
            assert.deepEqual(roles.filter((r) => r.inputs.permissionsBoundary !== BOUNDARY).map((r) => r.name), []);
            const serviceRole = prod.one("eks:index:Cluster").inputs.serviceRole;
            assert.equal(serviceRole.urn, prod.one("aws:iam/role:Role", "byoc-acme-eks-service").urn);
            assert.match(JSON.stringify(prod.one("aws:iam/role:Role", "byoc-acme-eks-service").inputs.assumeRolePolicy), /eks\.amazonaws\.com/);
        });

        it("troubleshooting grants chain from the bootstrap's support role, in the data plane's name scope", async () => {
            const now = new Date("2026-11-25T12:00:00Z");
            const grant = { id: "inc-1", engineer: "alice@example.com", csrPem: engineerCsr("alice@example.com"), reason: "INC-1: stuck merges", approvedBy: "lead@example.com", notAfter: "2026-11-25T18:00:00Z" };
            const s = await runStack("prod", { "byoc:access": { ...(stackRaw("prod")["byoc:access"] as object), grants: [grant] } }, now);
            const role = s.ofType("aws:iam/role:Role").find((r) => r.inputs.tags?.["byoc:grant"] === "inc-1")!;
            assert.equal(role.inputs.namePrefix, "byoc-acme-ts-", "the deploy role may only create roles named byoc-acme-…");
            const trust = JSON.parse(role.inputs.assumeRolePolicy);
            assert.deepEqual(trust.Statement.map((x: { Principal: { AWS: string } }) => x.Principal.AWS), [SUPPORT_ROLE, SUPPORT_ROLE]);
            assert.deepEqual(trust.Statement.map((x: { Action: string }) => x.Action), ["sts:AssumeRole", "sts:SetSourceIdentity"]);
            // The session name is the caller's choice; the source identity, set when the engineer assumed the support
            // role, must be the grant's engineer too.
            assert.deepEqual(trust.Statement.map((x: { Condition: { StringEquals: Record<string, string> } }) => x.Condition.StringEquals["sts:SourceIdentity"]), ["alice@example.com", "alice@example.com"]);
            assert.equal(role.inputs.permissionsBoundary, BOUNDARY);
            // `aws eks update-kubeconfig` works for the engineer: DescribeCluster of this cluster, nothing else in AWS.
            const inline = s.ofType("aws:iam/rolePolicy:RolePolicy").find((r) => r.name === "byoc-acme-grant-inc-1")!;
            assert.deepEqual(JSON.parse(inline.inputs.policy).Statement, [{ Effect: "Allow", Action: "eks:DescribeCluster", Resource: "arn:aws:eks:us-east-1:111122223333:cluster/byoc-acme-prod" }]);
        });

        it("the Kubernetes provider's EKS tokens are signed as the deploy role, on the EKS endpoint with its CA", () => {
            const kubeconfig = JSON.parse(unsecret(prod.one("pulumi:providers:kubernetes").inputs.kubeconfig));
            const cluster = kubeconfig.clusters[0].cluster;
            assert.match(cluster.server, /^https:\/\/[0-9A-F]{32}\.gr7\.us-east-1\.eks\.amazonaws\.com$/);
            assert.equal(Buffer.from(cluster["certificate-authority-data"], "base64").toString(), "mock-ca-byoc-acme-prod");
            const exec = kubeconfig.users[0].user.exec;
            assert.deepEqual([exec.command, exec.args[0], exec.args[1]], ["sh", "-c", ASSUME_AND_GET_TOKEN]);
            assert.deepEqual(exec.args.slice(3), [DEPLOY_ROLE, "offline-preview-placeholder-external-id", "byoc-acme-prod", "us-east-1"]);
            assert.equal(prod.outputs.deployRoleArn, DEPLOY_ROLE);
        });

        it("without BYOC_SOURCE_IDENTITY the program stops before any resource, saying what to set", async () => {
            const saved = process.env.BYOC_SOURCE_IDENTITY;
            delete process.env.BYOC_SOURCE_IDENTITY;
            try {
                await assert.rejects(runStack("prod", {}, undefined, null), /BYOC_SOURCE_IDENTITY is not set: this stack deploys through the customer's deploy role/);
            } finally {
                process.env.BYOC_SOURCE_IDENTITY = saved;
            }
            assert.throws(() => sourceIdentityFrom({ BYOC_SOURCE_IDENTITY: "alice smith" }), /must be 2–64 characters of letters, digits and _\+=,\.@-/);
            assert.throws(() => sourceIdentityFrom({ BYOC_SOURCE_IDENTITY: "aws:alice" }), /not starting with "aws:"/);
            assert.equal(sourceIdentityFrom({ BYOC_SOURCE_IDENTITY: "alice@example.com" }), "alice@example.com");
        });
    });

    describe("dev without a deploy role", () => {
        it("uses the ambient credentials: no explicit AWS provider, no boundary, `aws eks get-token`", () => {
            assert.deepEqual(awsProviders(dev), []);
            assert.deepEqual(dev.ofType("aws:iam/role:Role").filter((r) => r.inputs.permissionsBoundary !== undefined).map((r) => r.name), []);
            const exec = JSON.parse(dev.one("pulumi:providers:kubernetes").inputs.kubeconfig).users[0].user.exec;
            assert.equal(exec.command, "aws");
            assert.equal(dev.outputs.deployRoleArn, undefined);
            // pulumi-eks keeps its own service role: switching an existing cluster's role would replace it.
            assert.equal(dev.one("eks:index:Cluster").inputs.serviceRole, undefined);
            assert.deepEqual(dev.ofType("aws:iam/role:Role").filter((r) => r.name.endsWith("-eks-service")), []);
        });
    });

    describe("dev through a deploy role (optional there)", () => {
        it("every role of the dev snapshot carries the boundary and every AWS resource goes through the deploy role", async () => {
            const s = await runStack("dev", {
                "byoc:access": { ...(stackRaw("dev")["byoc:access"] as object), deployRoleArn: "arn:aws:iam::111122223333:role/byoc-bootstrap-acme-dev-deploy" },
                "byoc:deployExternalId": "dev-external-id-0123456789",
            });
            const roles = s.ofType("aws:iam/role:Role");
            assert.ok(roles.length >= 9);
            const boundary = "arn:aws:iam::111122223333:policy/byoc-bootstrap-acme-dev-workload-boundary";
            assert.deepEqual(roles.filter((r) => r.inputs.permissionsBoundary !== boundary).map((r) => r.name), []);
            const provider = awsProviders(s)[0].urn;
            assert.deepEqual(s.resources.filter((r) => r.custom && r.type.startsWith("aws:") && !r.provider?.startsWith(`${provider}::`)).map((r) => r.urn), []);
            // The ExternalId decrypted by the engine reaches the provider and the kubeconfig, as a secret.
            assert.equal(json(unsecret(awsProviders(s)[0].inputs.assumeRoles))[0].externalId, "dev-external-id-0123456789");
        });
    });

    describe("the token command (a fake `aws` on PATH records what it is asked)", () => {
        let dir: string;
        before(() => {
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "byoc-eks-token-"));
            // Logs each call with the credentials it would use; answers assume-role with text credentials.
            fs.writeFileSync(path.join(dir, "aws"), [
                "#!/bin/sh",
                `printf '%s|key=%s|profile=%s\\n' "$*" "\${AWS_ACCESS_KEY_ID:-}" "\${AWS_PROFILE:-}" >> "${dir}/calls"`,
                'case "$1 $2" in',
                '  "sts assume-role") printf "ASIAEXAMPLE\\tsecretEXAMPLE\\ttokenEXAMPLE\\n" ;;',
                '  "eks get-token") echo \'{"kind":"ExecCredential","status":{"token":"k8s-aws-v1.x"}}\' ;;',
                "esac",
            ].join("\n"), { mode: 0o755 });
        });
        after(() => fs.rmSync(dir, { recursive: true, force: true }));

        const run = (env: Record<string, string>, externalId = "ext-id-0123456789abcdef") => {
            fs.rmSync(path.join(dir, "calls"), { force: true });
            const exec = eksTokenExec({ clusterName: "byoc-acme-prod", region: "us-east-1", deployRole: { roleArn: DEPLOY_ROLE, externalId } });
            const args = exec.args as string[];
            const r = spawnSync(exec.command as string, args, { env: { PATH: `${dir}:${process.env.PATH}`, ...env }, encoding: "utf8" });
            const calls = fs.existsSync(path.join(dir, "calls")) ? fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n") : [];
            return { ...r, calls };
        };

        it("assumes the role with the ExternalId and the source identity, then signs with that session, not the profile", () => {
            const r = run({ BYOC_SOURCE_IDENTITY: "alice@example.com", AWS_PROFILE: "vendor-sso" });
            assert.equal(r.status, 0, r.stderr);
            assert.equal(JSON.parse(r.stdout).kind, "ExecCredential");
            assert.equal(r.calls.length, 2);
            assert.equal(r.calls[0], `sts assume-role --role-arn ${DEPLOY_ROLE} --external-id ext-id-0123456789abcdef --source-identity alice@example.com --role-session-name alice@example.com --duration-seconds 900 --query Credentials.[AccessKeyId,SecretAccessKey,SessionToken] --output text|key=|profile=vendor-sso`);
            assert.equal(r.calls[1], "eks get-token --cluster-name byoc-acme-prod --region us-east-1 --output json|key=ASIAEXAMPLE|profile=");
        });

        it("without BYOC_SOURCE_IDENTITY it fails before calling AWS, saying what to set", () => {
            const r = run({});
            assert.notEqual(r.status, 0);
            assert.deepEqual(r.calls, []);
            assert.match(r.stderr, /set BYOC_SOURCE_IDENTITY to your own identity/);
        });

        it("values are arguments, never shell code", () => {
            const r = run({ BYOC_SOURCE_IDENTITY: "alice@example.com" }, "x$(touch pwned)`touch pwned2`;touch pwned3");
            assert.equal(r.status, 0, r.stderr);
            assert.ok(r.calls[0].includes("--external-id x$(touch pwned)`touch pwned2`;touch pwned3 "));
            assert.deepEqual(fs.readdirSync(process.cwd()).filter((f) => f.startsWith("pwned")), []);
        });

        it("is plain POSIX sh (dash parses it)", () => {
            execFileSync("sh", ["-n", "-c", ASSUME_AND_GET_TOKEN]);
        });
    });

    describe("byoc:access.vendorAccess: suspended", () => {
        let suspended: Stack;
        before(async () => {
            const now = new Date("2026-11-25T12:00:00Z");
            const grant = { id: "inc-1", engineer: "alice@example.com", csrPem: engineerCsr("alice@example.com"), reason: "INC-1: stuck merges", approvedBy: "lead@example.com", notAfter: "2026-11-25T18:00:00Z" };
            suspended = await runStack("prod", { "byoc:access": { ...(stackRaw("prod")["byoc:access"] as object), grants: [grant], vendorAccess: "suspended" } }, now);
        });

        it("no Tailscale key, agent or endpoint; no tailnet ACL fragment", () => {
            assert.deepEqual(suspended.resources.filter((r) => r.type.startsWith("tailscale:index/") || r.type === "byoc:index:TailnetEndpoint").map((r) => r.urn), []);
            const agents = suspended.resources.filter((r) => /kubernetes:apps\/v1:(Deployment|StatefulSet)/.test(r.type) && JSON.stringify(r.inputs).includes("tailscale"));
            assert.deepEqual(agents.map((r) => r.name), []);
            assert.equal(suspended.outputs.tailnetAclFragment, undefined);
            assert.deepEqual(suspended.outputs.tailnetHostnames, {});
        });

        it("no troubleshooting grant: no role, access entry, association or certificate, even with an approved grant", () => {
            for (const t of ["aws:eks/accessEntry:AccessEntry", "aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "tls:index/locallySignedCert:LocallySignedCert"]) {
                assert.deepEqual(suspended.ofType(t).map((r) => r.name), [], t);
            }
            assert.deepEqual(suspended.ofType("aws:iam/role:Role").filter((r) => r.inputs.tags?.["byoc:grant"]).map((r) => r.name), []);
            assert.deepEqual(suspended.outputs.troubleshootingGrants, []);
        });

        it("the API endpoint admits no management CIDR: private only, the provider on the endpoint's own kubeconfig", () => {
            const eks = suspended.one("eks:index:Cluster").inputs;
            assert.equal(eks.endpointPublicAccess, false);
            assert.equal(eks.publicAccessCidrs, undefined);
            const kubeconfig = JSON.parse(unsecret(suspended.one("pulumi:providers:kubernetes").inputs.kubeconfig));
            assert.match(kubeconfig.clusters[0].cluster.server, /\.eks\.amazonaws\.com$/);
            assert.equal(suspended.outputs.clusterEndpointAccess, "private");
            // From outside the VPC the API is then unreachable: objects are kept as recorded, not failed on.
            assert.equal(suspended.one("pulumi:providers:kubernetes").inputs.skipUpdateUnreachable, "true", "provider inputs are strings");
            assert.equal(prod.one("pulumi:providers:kubernetes").inputs.skipUpdateUnreachable, undefined);
        });

        it("the flow table and the outputs say so", () => {
            const rows = suspended.outputs.networkFlows as { flow: string; restrictedBy: string }[];
            assert.match(rows.find((f) => f.flow === "Management → EKS API")!.restrictedBy, /^vendor access suspended: private endpoint only/);
            assert.ok(!rows.some((f) => /tailnet/i.test(f.flow)), rows.map((f) => f.flow).join("; "));
            assert.equal(suspended.outputs.vendorAccess, "suspended");
            assert.equal(prod.outputs.vendorAccess, "enabled");
        });

        it("suspending (the first of the portal's two runs): the same removals, while the restricted endpoint stays for that run", async () => {
            const now = new Date("2026-11-25T12:00:00Z");
            const tailnetPhase = { ...(stackRaw("prod")["byoc:controlPlane"] as object), phase: "tailnet" };
            const tailscale = { ...(stackRaw("prod")["byoc:tailscale"] as object), managementTag: "tag:byoc-management" };
            const s = await runStack("prod", {
                "byoc:controlPlane": tailnetPhase,
                "byoc:tailscale": tailscale,
                "byoc:access": { ...(stackRaw("prod")["byoc:access"] as object), vendorAccess: "suspending" },
            }, now);
            assert.deepEqual(s.resources.filter((r) => r.type.startsWith("tailscale:index/")).map((r) => r.name), []);
            const eks = s.one("eks:index:Cluster").inputs;
            assert.equal(eks.endpointPublicAccess, true, "even in phase tailnet: this run must still reach the API to remove the agents");
            assert.deepEqual(eks.publicAccessCidrs, ["203.0.113.0/28", "198.51.100.16/28"]);
            const kubeconfig = JSON.parse(unsecret(s.one("pulumi:providers:kubernetes").inputs.kubeconfig));
            assert.match(kubeconfig.clusters[0].cluster.server, /\.eks\.amazonaws\.com$/, "not the tailnet device being removed");
            const row = (s.outputs.networkFlows as { flow: string; restrictedBy: string }[]).find((f) => f.flow === "Management → EKS API")!;
            assert.match(row.restrictedBy, /^vendor access being suspended: publicAccessCidrs = 203\.0\.113\.0\/28, 198\.51\.100\.16\/28 for this one run/);
        });

        it("the data plane itself stays: the same cluster, nodes, ingress and telemetry as when enabled", () => {
            for (const t of ["eks:index:Cluster", "aws:eks/nodeGroup:NodeGroup", "aws:ec2/vpc:Vpc"]) assert.equal(suspended.ofType(t).length, prod.ofType(t).length, t);
            assert.equal(suspended.ofType("kubernetes:helm.sh/v3:Release").length, prod.ofType("kubernetes:helm.sh/v3:Release").length);
        });
    });
});
