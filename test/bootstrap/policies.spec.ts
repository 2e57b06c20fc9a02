// The bootstrap's trust policies, boundary and deploy policy judged by an IAM policy simulator
// (@cloud-copilot/iam-simulate, test-only): each request is evaluated as IAM would, so these tests prove the
// documents' effect, not their spelling.
import { strict as assert } from "assert";
import { runSimulation } from "@cloud-copilot/iam-simulate";
import {
    boundaryArn, boundaryPolicy, breakGlassTrustPolicy, closedTrustPolicy, deployPolicy, PolicyDocument, revokeSessionsPolicy, Scope,
    supportPolicy, trailBucketPolicy, vendorTrustPolicy, workloadBoundaryArn, workloadBoundaryPolicy,
} from "../../bootstrap/policies";
import { MAX_TELEMETRY_DESTINATIONS } from "../../bootstrap/config";

const CUSTOMER_ACCOUNT = "111122223333";
const PROVIDER_ACCOUNT = "444455556666";
const OTHER_ACCOUNT = "777788889999";
const scope: Scope = { customer: "acme", account: CUSTOMER_ACCOUNT, partition: "aws" };
const PROVIDER = `arn:aws:iam::${PROVIDER_ACCOUNT}:role/byoc-deployer`;
const EXTERNAL_ID = "acme-5d2c7f3a9b1e4c60";
const DEPLOY_ROLE = `arn:aws:iam::${CUSTOMER_ACCOUNT}:role/byoc-bootstrap-acme-deploy`;
const DEPLOY_SESSION = `arn:aws:sts::${CUSTOMER_ACCOUNT}:assumed-role/byoc-bootstrap-acme-deploy/alice@provider.example`;
const ALLOW_STS = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "sts:*", Resource: "*" }] };

type Ctx = Record<string, string | string[]>;

async function simulate(o: {
    principal: string; action: string; resource: string; resourceAccount?: string; context?: Ctx;
    identity: PolicyDocument[] | object[]; boundary?: PolicyDocument; resourcePolicy?: object;
}): Promise<string> {
    const r = await runSimulation({
        request: { principal: o.principal, action: o.action, resource: { resource: o.resource, accountId: o.resourceAccount ?? CUSTOMER_ACCOUNT }, contextVariables: o.context ?? {} },
        identityPolicies: o.identity.map((policy, i) => ({ name: `identity-${i}`, policy })),
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy: o.resourcePolicy,
        permissionBoundaryPolicies: o.boundary ? [{ name: "byoc-boundary", policy: o.boundary }] : undefined,
    }, {});
    if (r.resultType !== "single") throw new Error(`simulation failed: ${JSON.stringify(r).slice(0, 600)}`);
    return r.result.analysis.result;
}

/** sts:AssumeRole (and SetSourceIdentity when one is set) on a role with `trust`; the caller's own policy allows STS. */
async function assume(trust: PolicyDocument, principal: string, context: Ctx, role = DEPLOY_ROLE): Promise<string> {
    const results = [await simulate({ principal, action: "sts:AssumeRole", resource: role, context, identity: [ALLOW_STS], resourcePolicy: trust })];
    if (context["sts:SourceIdentity"] !== undefined) {
        results.push(await simulate({ principal, action: "sts:SetSourceIdentity", resource: role, context, identity: [ALLOW_STS], resourcePolicy: trust }));
    }
    return results.every((x) => x === "Allowed") ? "Allowed" : results.find((x) => x !== "Allowed")!;
}

const good: Ctx = { "sts:ExternalId": EXTERNAL_ID, "sts:SourceIdentity": "alice@provider.example" };

describe("bootstrap/policies: the deploy and support roles' trust (vendor access enabled)", () => {
    const trust = vendorTrustPolicy({ principals: [PROVIDER], externalId: EXTERNAL_ID });

    it("the provider's principal with the ExternalId and a source identity may assume the role", async () => {
        assert.equal(await assume(trust, PROVIDER, good), "Allowed");
    });

    it("without the ExternalId, or with another one → denied", async () => {
        assert.notEqual(await assume(trust, PROVIDER, { "sts:SourceIdentity": "alice@provider.example" }), "Allowed");
        assert.notEqual(await assume(trust, PROVIDER, { ...good, "sts:ExternalId": "guessed" }), "Allowed");
    });

    it("without a source identity → denied (CloudTrail must name who acted)", async () => {
        assert.notEqual(await assume(trust, PROVIDER, { "sts:ExternalId": EXTERNAL_ID }), "Allowed");
    });

    it("from another account, or another principal of the provider's account → denied", async () => {
        assert.notEqual(await assume(trust, `arn:aws:iam::${OTHER_ACCOUNT}:role/byoc-deployer`, good), "Allowed");
        assert.notEqual(await assume(trust, `arn:aws:iam::${PROVIDER_ACCOUNT}:role/someone-else`, good), "Allowed");
        assert.notEqual(await assume(trust, `arn:aws:iam::${CUSTOMER_ACCOUNT}:role/admin`, good), "Allowed", "not even the customer's own principals");
    });
});

describe("bootstrap/policies: the kill switch (vendor access suspended)", () => {
    const SUSPENDED_AT = "2026-12-01T10:00:00Z";

    it("AssumeRole is denied outright, even with the ExternalId and a source identity", async () => {
        const closed = closedTrustPolicy("VendorAccessSuspended");
        assert.equal(await simulate({ principal: PROVIDER, action: "sts:AssumeRole", resource: DEPLOY_ROLE, context: good, identity: [ALLOW_STS], resourcePolicy: closed }), "ExplicitlyDenied");
        assert.notEqual(await assume(closed, PROVIDER, good), "Allowed");
    });

    it("sessions issued before the suspension are denied everything; the policy is the console's AWSRevokeOlderSessions", async () => {
        const revoke = revokeSessionsPolicy(SUSPENDED_AT);
        assert.deepEqual(revoke.Statement[0].Condition, { DateLessThan: { "aws:TokenIssueTime": SUSPENDED_AT } });
        const identity = [deployPolicy(scope), revoke];
        const tagged = { "aws:ResourceTag/byoc:customer": "acme" };
        const before = await simulate({
            principal: DEPLOY_SESSION, action: "ec2:TerminateInstances", resource: `arn:aws:ec2:us-east-1:${CUSTOMER_ACCOUNT}:instance/i-0123456789abcdef0`,
            context: { ...tagged, "aws:TokenIssueTime": "2026-12-01T09:30:00Z" }, identity, boundary: boundaryPolicy(scope),
        });
        assert.equal(before, "ExplicitlyDenied");
        const reads = await simulate({ principal: DEPLOY_SESSION, action: "ec2:DescribeInstances", resource: "*", context: { "aws:TokenIssueTime": "2026-12-01T09:59:59Z" }, identity, boundary: boundaryPolicy(scope) });
        assert.equal(reads, "ExplicitlyDenied", "even reads");
        // The same request from a session issued afterwards is not what the revocation denies (the trust issues none).
        const after = await simulate({
            principal: DEPLOY_SESSION, action: "ec2:TerminateInstances", resource: `arn:aws:ec2:us-east-1:${CUSTOMER_ACCOUNT}:instance/i-0123456789abcdef0`,
            context: { ...tagged, "aws:TokenIssueTime": "2026-12-01T10:00:01Z" }, identity, boundary: boundaryPolicy(scope),
        });
        assert.equal(after, "Allowed");
    });

    it("refuses a revocation time IAM would not compare", () => {
        assert.throws(() => revokeSessionsPolicy("2026-12-01 10:00"), /revocation time "2026-12-01 10:00" must be a UTC time such as/);
    });
});

describe("bootstrap/policies: the break-glass role", () => {
    const customerAdmin = `arn:aws:iam::${CUSTOMER_ACCOUNT}:role/security-oncall`;
    const identity = { "sts:SourceIdentity": "carol@acme.example" };
    const role = `arn:aws:iam::${CUSTOMER_ACCOUNT}:role/byoc-bootstrap-acme-break-glass`;

    it("closed: nobody may assume it, not the customer's own principal", async () => {
        const closed = closedTrustPolicy("BreakGlassClosed");
        assert.notEqual(await assume(closed, customerAdmin, identity, role), "Allowed");
        assert.notEqual(await assume(closed, PROVIDER, { ...identity, "sts:ExternalId": EXTERNAL_ID }, role), "Allowed");
    });

    it("open: the customer's named principal only, with a source identity", async () => {
        const open = breakGlassTrustPolicy([customerAdmin]);
        assert.equal(await assume(open, customerAdmin, identity, role), "Allowed");
        assert.notEqual(await assume(open, customerAdmin, {}, role), "Allowed", "no source identity");
        assert.notEqual(await assume(open, `arn:aws:iam::${CUSTOMER_ACCOUNT}:role/developer`, identity, role), "Allowed", "another principal of the account");
        assert.notEqual(await assume(open, PROVIDER, { ...identity, "sts:ExternalId": EXTERNAL_ID }, role), "Allowed", "the provider");
    });
});

describe("bootstrap/policies: the deploy role under the permissions boundary", () => {
    // The roles the deploy role creates carry the workload boundary; the deploy role itself carries boundaryArn.
    const BOUNDARY = workloadBoundaryArn(scope);
    const STRICT = boundaryArn(scope);
    const deploy = (action: string, resource: string, context: Ctx = {}) =>
        simulate({ principal: DEPLOY_SESSION, action, resource, context, identity: [deployPolicy(scope)], boundary: boundaryPolicy(scope) });
    const role = (n: string) => `arn:aws:iam::${CUSTOMER_ACCOUNT}:role/${n}`;
    const instance = `arn:aws:ec2:us-east-1:${CUSTOMER_ACCOUNT}:instance/i-0123456789abcdef0`;
    const ownTag = { "aws:ResourceTag/byoc:customer": "acme" };

    it("creating a role named in scope, with the workload boundary and the customer tag → allowed", async () => {
        assert.equal(await deploy("iam:CreateRole", role("byoc-acme-node"), { "iam:PermissionsBoundary": BOUNDARY, "aws:RequestTag/byoc:customer": "acme", "aws:TagKeys": ["byoc:customer"] }), "Allowed");
        assert.equal(await deploy("iam:PutRolePolicy", role("byoc-acme-node"), { "iam:PermissionsBoundary": BOUNDARY }), "Allowed");
        assert.equal(await deploy("iam:AttachRolePolicy", role("byoc-acme-node"), { "iam:PermissionsBoundary": BOUNDARY, "iam:PolicyARN": "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy" }), "Allowed");
    });

    it("creating or granting a role without the workload boundary, or with another one (the deploy role's own too) → denied", async () => {
        assert.notEqual(await deploy("iam:CreateRole", role("byoc-acme-node"), { "aws:RequestTag/byoc:customer": "acme" }), "Allowed");
        assert.notEqual(await deploy("iam:CreateRole", role("byoc-acme-node"), { "iam:PermissionsBoundary": STRICT, "aws:RequestTag/byoc:customer": "acme" }), "Allowed");
        assert.notEqual(await deploy("iam:PutRolePolicy", role("byoc-acme-node"), { "iam:PermissionsBoundary": STRICT }), "Allowed");
        assert.notEqual(await deploy("iam:CreateRole", role("byoc-acme-node"), { "iam:PermissionsBoundary": `arn:aws:iam::${CUSTOMER_ACCOUNT}:policy/byoc-acme-loose` }), "Allowed");
        assert.notEqual(await deploy("iam:AttachRolePolicy", role("byoc-acme-node"), { "iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess" }), "Allowed");
        assert.notEqual(await deploy("iam:CreateRole", role("customer-app"), { "iam:PermissionsBoundary": BOUNDARY }), "Allowed", "outside the name scope");
    });

    it("creating an IAM user or an access key → denied", async () => {
        assert.equal(await deploy("iam:CreateUser", `arn:aws:iam::${CUSTOMER_ACCOUNT}:user/byoc-acme-backdoor`), "ExplicitlyDenied");
        assert.equal(await deploy("iam:CreateAccessKey", `arn:aws:iam::${CUSTOMER_ACCOUNT}:user/byoc-acme-backdoor`), "ExplicitlyDenied");
    });

    it("deleting or changing a boundary → denied; putting the workload boundary on a data-plane role → allowed", async () => {
        assert.equal(await deploy("iam:DeleteRolePermissionsBoundary", role("byoc-acme-node")), "ExplicitlyDenied");
        assert.notEqual(await deploy("iam:PutRolePermissionsBoundary", role("byoc-acme-node"), { "iam:PermissionsBoundary": `arn:aws:iam::${CUSTOMER_ACCOUNT}:policy/byoc-acme-loose` }), "Allowed");
        assert.equal(await deploy("iam:PutRolePermissionsBoundary", role("byoc-acme-node"), { "iam:PermissionsBoundary": BOUNDARY }), "Allowed");
        // Its own role cannot trade its boundary for the looser one.
        assert.equal(await deploy("iam:PutRolePermissionsBoundary", DEPLOY_ROLE, { "iam:PermissionsBoundary": BOUNDARY }), "ExplicitlyDenied");
        for (const policy of [STRICT, BOUNDARY]) {
            for (const action of ["iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:SetDefaultPolicyVersion", "iam:TagPolicy"]) {
                assert.equal(await deploy(action, policy), "ExplicitlyDenied", `${action} on ${policy}`);
            }
        }
    });

    it("the bootstrap's own roles and the revocation policy are out of reach", async () => {
        assert.equal(await deploy("iam:DeleteRolePolicy", DEPLOY_ROLE, { "iam:PermissionsBoundary": STRICT }), "ExplicitlyDenied");
        assert.equal(await deploy("iam:UpdateAssumeRolePolicy", DEPLOY_ROLE), "ExplicitlyDenied");
        assert.equal(await deploy("sts:AssumeRole", role("byoc-bootstrap-acme-break-glass")), "ExplicitlyDenied");
    });

    it("touching an untagged or another customer's resource → denied; the customer's own → allowed", async () => {
        assert.notEqual(await deploy("ec2:TerminateInstances", instance), "Allowed");
        assert.notEqual(await deploy("ec2:TerminateInstances", instance, { "aws:ResourceTag/byoc:customer": "globex" }), "Allowed");
        assert.notEqual(await deploy("s3:GetObject", "arn:aws:s3:::customer-data/x.parquet", {}), "Allowed");
        assert.equal(await deploy("ec2:TerminateInstances", instance, ownTag), "Allowed");
        assert.equal(await deploy("s3:PutBucketPolicy", "arn:aws:s3:::byoc-acme-thanos-0123abc"), "Allowed", "named in scope");
    });

    it("tagging its own resources → allowed; tagging a foreign resource into scope → denied", async () => {
        assert.equal(await deploy("ec2:CreateTags", instance, { ...ownTag, "aws:RequestTag/byoc:role": "node", "aws:TagKeys": ["byoc:role"] }), "Allowed");
        assert.equal(await deploy("ec2:CreateTags", `arn:aws:ec2:us-east-1:${CUSTOMER_ACCOUNT}:vpc/vpc-0abc`, { "aws:RequestTag/byoc:customer": "acme", "aws:TagKeys": ["byoc:customer"], "ec2:CreateAction": "CreateVpc" }), "Allowed", "tag on create");
        assert.notEqual(await deploy("ec2:CreateTags", `arn:aws:ec2:us-east-1:${CUSTOMER_ACCOUNT}:vpc/vpc-foreign`, { "aws:RequestTag/byoc:customer": "acme", "aws:TagKeys": ["byoc:customer"] }), "Allowed");
    });

    it("nothing account- or organization-wide", async () => {
        assert.equal(await deploy("organizations:LeaveOrganization", "*"), "ExplicitlyDenied");
        assert.equal(await deploy("iam:CreateAccountAlias", "*"), "ExplicitlyDenied");
        assert.equal(await deploy("account:PutAlternateContact", `arn:aws:account::${CUSTOMER_ACCOUNT}:account`), "ExplicitlyDenied");
        assert.equal(await deploy("cloudtrail:StopLogging", `arn:aws:cloudtrail:us-east-1:${CUSTOMER_ACCOUNT}:trail/org`, ownTag), "ExplicitlyDenied");
    });

    it("the boundary caps even an administrator policy on a data-plane role", async () => {
        const admin = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] };
        const pod = `arn:aws:sts::${CUSTOMER_ACCOUNT}:assumed-role/byoc-acme-thanos/eks-pod`;
        assert.notEqual(await simulate({ principal: pod, action: "s3:GetObject", resource: "arn:aws:s3:::customer-data/x", identity: [admin], boundary: boundaryPolicy(scope) }), "Allowed");
        assert.equal(await simulate({ principal: pod, action: "s3:GetObject", resource: "arn:aws:s3:::byoc-acme-thanos-0123abc/x", identity: [admin], boundary: boundaryPolicy(scope) }), "Allowed");
    });
});

describe("bootstrap/policies: the support role", () => {
    const support = (action: string, resource: string, context: Ctx = {}) =>
        simulate({ principal: `arn:aws:sts::${CUSTOMER_ACCOUNT}:assumed-role/byoc-bootstrap-acme-support/bob`, action, resource, context, identity: [supportPolicy(scope)], boundary: boundaryPolicy(scope) });

    it("reads metadata and the data plane's logs; changes nothing, reads no data", async () => {
        assert.equal(await support("eks:DescribeCluster", `arn:aws:eks:us-east-1:${CUSTOMER_ACCOUNT}:cluster/byoc-acme`), "Allowed");
        assert.equal(await support("logs:FilterLogEvents", `arn:aws:logs:us-east-1:${CUSTOMER_ACCOUNT}:log-group:/aws/eks/byoc-acme-cluster/cluster`), "Allowed");
        assert.notEqual(await support("ec2:TerminateInstances", `arn:aws:ec2:us-east-1:${CUSTOMER_ACCOUNT}:instance/i-0abc`, { "aws:ResourceTag/byoc:customer": "acme" }), "Allowed");
        assert.notEqual(await support("s3:GetObject", "arn:aws:s3:::byoc-acme-thanos-0123abc/x"), "Allowed");
        assert.notEqual(await support("logs:FilterLogEvents", `arn:aws:logs:us-east-1:${CUSTOMER_ACCOUNT}:log-group:/customer/app`), "Allowed");
    });

    it("chains into a troubleshooting grant's role (passing its source identity on), and into no other role", async () => {
        const grant = `arn:aws:iam::${CUSTOMER_ACCOUNT}:role/byoc-acme-ts-20261125abc`;
        const withIdentity = { "sts:SourceIdentity": "alice@example.com" };
        assert.equal(await support("sts:AssumeRole", grant, withIdentity), "Allowed");
        assert.equal(await support("sts:SetSourceIdentity", grant, withIdentity), "Allowed");
        for (const other of [`arn:aws:iam::${CUSTOMER_ACCOUNT}:role/byoc-acme-nodes-0123abc`, `arn:aws:iam::${CUSTOMER_ACCOUNT}:role/byoc-bootstrap-acme-deploy`, `arn:aws:iam::${CUSTOMER_ACCOUNT}:role/admin`]) {
            assert.notEqual(await support("sts:AssumeRole", other, withIdentity), "Allowed", other);
        }
    });
});

describe("bootstrap/policies: the trail bucket", () => {
    it("CloudTrail writes under AWSLogs/<account>/ of this trail only; plain HTTP is refused", async () => {
        const bucketArn = "arn:aws:s3:::byoc-bootstrap-acme-trail-0123abc";
        const trailArn = `arn:aws:cloudtrail:us-east-1:${CUSTOMER_ACCOUNT}:trail/byoc-bootstrap-acme-vendor`;
        const policy = trailBucketPolicy({ bucketArn, account: CUSTOMER_ACCOUNT, trailArn });
        const put = (context: Ctx) => simulate({
            principal: "cloudtrail.amazonaws.com", action: "s3:PutObject", resource: `${bucketArn}/AWSLogs/${CUSTOMER_ACCOUNT}/CloudTrail/x.json.gz`,
            context: { "aws:SecureTransport": "true", "s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceArn": trailArn, ...context }, identity: [], resourcePolicy: policy,
        });
        assert.equal(await put({}), "Allowed");
        assert.notEqual(await put({ "aws:SourceArn": `arn:aws:cloudtrail:us-east-1:${OTHER_ACCOUNT}:trail/x` }), "Allowed");
        assert.notEqual(await put({ "aws:SecureTransport": "false" }), "Allowed");
    });
});

describe("bootstrap/policies: IAM's size limit", () => {
    it("every managed policy stays under 6,144 characters (IAM's quota, whitespace excluded) for the longest customer id", () => {
        const longest: Scope = { customer: "a".repeat(20), account: CUSTOMER_ACCOUNT, partition: "aws-us-gov" };
        // The most telemetry destinations the config admits, each as long as it may be (63-character bucket names with a prefix).
        const destinations = Array.from({ length: MAX_TELEMETRY_DESTINATIONS }, (_, i) => `arn:aws-us-gov:s3:::${String(i).padEnd(63, "b")}/${"p".repeat(20)}`);
        for (const [name, d] of [
            ["boundary", boundaryPolicy(longest)], ["deploy", deployPolicy(longest)], ["support", supportPolicy(longest)], ["workload boundary", workloadBoundaryPolicy(longest, destinations)],
        ] as const) {
            assert.ok(JSON.stringify(d).length < 6144, `${name}: ${JSON.stringify(d).length} characters`);
        }
    });
});
