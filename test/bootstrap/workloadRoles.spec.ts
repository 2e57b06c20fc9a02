// Can the roles the data plane creates do their jobs under the workload boundary, and nothing on the customer's other
// resources? The prod program runs under mocks; every IAM role of the snapshot is judged by the IAM policy simulator
// (@cloud-copilot/iam-simulate) with its OWN policies — the inline ones it registers and the AWS managed ones it attaches
// (modeled below) — AND the workload boundary of the customer's bootstrap (bootstrap/Pulumi.acme.yaml), as IAM evaluates
// a role that carries a permissions boundary: both must allow, an explicit deny in either wins.
//
// The denials are judged twice: with the role's own policies, and with an administrator policy in their place — the
// deploy role writes these roles' policies, so the boundary alone must hold the line.
//
// `aws:ResourceAccount` is the account that owns the resource (IAM User Guide, "AWS global condition context keys");
// the simulator does not derive it, so each request names it, as IAM would send it.
import { strict as assert } from "assert";
import * as path from "path";
import { runSimulation } from "@cloud-copilot/iam-simulate";
import { parseOrThrow, readBootstrapStackFile } from "../../bootstrap/config";
import { PolicyDocument, Scope, workloadBoundaryArn, workloadBoundaryPolicy } from "../../bootstrap/policies";
import { RecordedResource } from "../../preview/runtime";
import { MOCK_NOW } from "../../preview/mocks";
import { engineerCsr } from "../support/pki";
import { runStack, stackRaw, Stack, unsecret } from "../harness";

type Ctx = Record<string, string | string[]>;
type Doc = { Version: string; Statement: object[] };

const BOOTSTRAP = path.resolve(__dirname, "../../bootstrap");
const AWS_ECR_ACCOUNT = "602401143452"; // Amazon EKS's image registry account (us-east-1): add-on images, the pause image
const PROVIDER_ACCOUNT = "444455556666";
const OTHER_ACCOUNT = "777788889999";
const ADMIN: Doc = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] };
/**
 * A resource policy of another account granting `principal` `actions` on `resource`: what IAM needs across accounts
 * besides the caller's own policies — the provider's bucket and queue policies for the telemetry roles, and the
 * repository policy of EKS's image registry (modeled as open to every principal: a stand-in, AWS does not publish it).
 */
const grantTo = (principal: string, actions: string[], resource: string) => ({
    Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: principal === "*" ? "*" : { AWS: principal }, Action: actions, Resource: resource }],
});

/**
 * The AWS managed policies the program attaches, as the AWS Managed Policy Reference
 * (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/<name>.html) shows their default version; those
 * marked "excerpt" list the statements the services' calls below need, not every action.
 */
const MANAGED: Record<string, Doc> = {
    // AmazonEKSWorkerNodePolicy v3 (2023-11-27): the node's own calls and the Pod Identity agent's.
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy": {
        Version: "2012-10-17",
        Statement: [{
            Sid: "WorkerNodePermissions", Effect: "Allow", Resource: "*",
            Action: [
                "ec2:DescribeInstances", "ec2:DescribeInstanceTypes", "ec2:DescribeRouteTables", "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets",
                "ec2:DescribeVolumes", "ec2:DescribeVolumesModifications", "ec2:DescribeVpcs", "eks:DescribeCluster", "eks-auth:AssumeRoleForPodIdentity",
            ],
        }],
    },
    // AmazonEKS_CNI_Policy v5 (2024-03-04): the VPC CNI on the node.
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy": {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "AmazonEKSCNIPolicy", Effect: "Allow", Resource: "*",
                Action: [
                    "ec2:AssignPrivateIpAddresses", "ec2:AttachNetworkInterface", "ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:DescribeInstances",
                    "ec2:DescribeTags", "ec2:DescribeNetworkInterfaces", "ec2:DescribeInstanceTypes", "ec2:DescribeSubnets", "ec2:DetachNetworkInterface",
                    "ec2:ModifyNetworkInterfaceAttribute", "ec2:UnassignPrivateIpAddresses",
                ],
            },
            { Sid: "AmazonEKSCNIPolicyENITag", Effect: "Allow", Action: ["ec2:CreateTags"], Resource: ["arn:aws:ec2:*:*:network-interface/*"] },
        ],
    },
    // AmazonEC2ContainerRegistryReadOnly v3 (2019-12-10): image pulls.
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly": {
        Version: "2012-10-17",
        Statement: [{
            Effect: "Allow", Resource: "*",
            Action: [
                "ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:GetRepositoryPolicy", "ecr:DescribeRepositories",
                "ecr:ListImages", "ecr:DescribeImages", "ecr:BatchGetImage", "ecr:GetLifecyclePolicy", "ecr:GetLifecyclePolicyPreview", "ecr:ListTagsForResource",
                "ecr:DescribeImageScanFindings",
            ],
        }],
    },
    // AmazonEBSCSIDriverPolicy (service-role/), excerpt of v4: describe, attach/detach, and create/delete of the
    // volumes the driver tags ebs.csi.aws.com/cluster = true.
    "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy": {
        Version: "2012-10-17",
        Statement: [
            { Effect: "Allow", Resource: "*", Action: ["ec2:DescribeAvailabilityZones", "ec2:DescribeInstances", "ec2:DescribeSnapshots", "ec2:DescribeTags", "ec2:DescribeVolumes", "ec2:DescribeVolumesModifications", "ec2:DescribeVolumeStatus"] },
            { Effect: "Allow", Action: ["ec2:CreateSnapshot", "ec2:ModifyVolume"], Resource: "arn:aws:ec2:*:*:volume/*" },
            { Effect: "Allow", Action: ["ec2:AttachVolume", "ec2:DetachVolume"], Resource: ["arn:aws:ec2:*:*:volume/*", "arn:aws:ec2:*:*:instance/*"] },
            { Effect: "Allow", Action: ["ec2:CreateVolume", "ec2:EnableFastSnapshotRestores"], Resource: "arn:aws:ec2:*:*:snapshot/*" },
            { Effect: "Allow", Action: ["ec2:CreateTags"], Resource: ["arn:aws:ec2:*:*:volume/*", "arn:aws:ec2:*:*:snapshot/*"], Condition: { StringEquals: { "ec2:CreateAction": ["CreateVolume", "CreateSnapshot"] } } },
            { Effect: "Allow", Action: ["ec2:CreateVolume"], Resource: "arn:aws:ec2:*:*:volume/*", Condition: { StringLike: { "aws:RequestTag/ebs.csi.aws.com/cluster": "true" } } },
            { Effect: "Allow", Action: ["ec2:DeleteVolume"], Resource: "arn:aws:ec2:*:*:volume/*", Condition: { StringLike: { "ec2:ResourceTag/ebs.csi.aws.com/cluster": "true" } } },
        ],
    },
    // AmazonEKSClusterPolicy, excerpt of v8 (2025-04-17): EKS's own calls for the cluster (tags on what it creates,
    // volumes, security groups, load balancers of the in-tree provider, the envelope key), the ELB service-linked role,
    // and deleting the VPC CNI's leftover network interfaces.
    "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy": {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "AmazonEKSClusterPolicy", Effect: "Allow", Resource: "*",
                Action: [
                    "autoscaling:DescribeAutoScalingGroups", "autoscaling:UpdateAutoScalingGroup", "ec2:AttachVolume", "ec2:AuthorizeSecurityGroupIngress", "ec2:CreateRoute",
                    "ec2:CreateSecurityGroup", "ec2:CreateTags", "ec2:CreateVolume", "ec2:DeleteRoute", "ec2:DeleteSecurityGroup", "ec2:DeleteVolume", "ec2:DescribeInstances",
                    "ec2:DescribeRouteTables", "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVolumes", "ec2:DescribeVpcs", "ec2:DescribeNetworkInterfaces",
                    "ec2:DetachVolume", "ec2:ModifyInstanceAttribute", "ec2:ModifyVolume", "ec2:RevokeSecurityGroupIngress", "elasticloadbalancing:AddTags",
                    "elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DeleteLoadBalancer", "kms:DescribeKey",
                ],
            },
            { Sid: "AmazonEKSClusterPolicySLRCreate", Effect: "Allow", Action: "iam:CreateServiceLinkedRole", Resource: "*", Condition: { StringEquals: { "iam:AWSServiceName": "elasticloadbalancing.amazonaws.com" } } },
            { Sid: "AmazonEKSClusterPolicyENIDelete", Effect: "Allow", Action: "ec2:DeleteNetworkInterface", Resource: "*", Condition: { StringEquals: { "ec2:ResourceTag/eks:eni:owner": "amazon-vpc-cni" } } },
        ],
    },
};

const parse = (v: unknown): Doc => {
    const x = unsecret(v);
    return (typeof x === "string" ? JSON.parse(x) : x) as Doc;
};

interface Role {
    logical: string;
    name: string;
    arn: string;
    boundary: unknown;
    policies: Doc[];
    /** Policy ARNs attached that MANAGED does not model (none expected). */
    unmodeled: string[];
}

/** Every IAM role of a snapshot with the policies it registers: inline documents and attached managed policies. */
function rolesOf(run: Stack, account: string): Role[] {
    const physical = (r: RecordedResource) => String(r.outputs.name ?? r.outputs.id ?? r.inputs.name ?? r.name);
    return run.ofType("aws:iam/role:Role").map((r) => {
        const name = physical(r);
        const mine = (x: RecordedResource) => x.inputs.role === name || x.inputs.role?.urn === r.urn;
        const inline = run.ofType("aws:iam/rolePolicy:RolePolicy").filter(mine).map((x) => parse(x.inputs.policy));
        const attached = run.ofType("aws:iam/rolePolicyAttachment:RolePolicyAttachment").filter(mine).map((x) => String(x.inputs.policyArn));
        return {
            logical: r.name, name, arn: `arn:aws:iam::${account}:role/${name}`, boundary: r.inputs.permissionsBoundary,
            policies: [...inline, ...attached.filter((a) => MANAGED[a]).map((a) => MANAGED[a])], unmodeled: attached.filter((a) => !MANAGED[a]),
        };
    });
}

async function judge(o: { role: Role; action: string; resource: string; resourceAccount?: string; context?: Ctx; identity?: Doc[]; boundary: PolicyDocument; resourcePolicy?: object }) {
    const account = o.resourceAccount ?? o.role.arn.split(":")[4];
    const r = await runSimulation({
        request: {
            principal: `arn:aws:sts::${o.role.arn.split(":")[4]}:assumed-role/${o.role.name}/session`,
            action: o.action,
            resource: { resource: o.resource, accountId: account },
            // IAM sends aws:ResourceAccount with a resource; not for actions on "*" (no resource to own).
            contextVariables: { ...(o.resource === "*" ? {} : { "aws:ResourceAccount": account }), ...(o.context ?? {}) },
        },
        identityPolicies: (o.identity ?? o.role.policies).map((policy, i) => ({ name: `p${i}`, policy })),
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy: o.resourcePolicy,
        permissionBoundaryPolicies: [{ name: "workload-boundary", policy: o.boundary }],
    }, {});
    if (r.resultType !== "single") throw new Error(`${o.action} on ${o.resource}: the simulator could not evaluate it: ${JSON.stringify(r).slice(0, 500)}`);
    return r.result.analysis.result;
}

interface Call {
    action: string;
    resource: string;
    account?: string;
    context?: Ctx;
    resourcePolicy?: object;
    why: string;
}

describe("bootstrap: the roles of the prod data plane do their jobs under the workload boundary (IAM policy simulator)", () => {
    let run: Stack;
    let roles: Role[];
    let scope: Scope;
    let boundary: PolicyDocument;
    let destinations: string[];
    const role = (logical: string) => {
        const found = roles.find((r) => r.logical === logical);
        if (!found) throw new Error(`no role ${logical}; have ${roles.map((r) => r.logical).join(", ")}`);
        return found;
    };
    const tags = (r: RecordedResource): Ctx => Object.fromEntries(Object.entries((r.inputs.tags ?? {}) as Record<string, string>).map(([k, v]) => [`aws:ResourceTag/${k}`, v]));
    const own: Ctx = { "aws:ResourceTag/byoc:customer": "acme" };
    const ec2 = (resource: string) => `arn:aws:ec2:us-east-1:${scope.account}:${resource}`;
    const keyOf = (logical: string) => run.one("aws:kms/key:Key", logical);
    const keyArn = (k: RecordedResource) => String(k.outputs.arn);
    const keyPolicy = (k: RecordedResource) => (typeof k.inputs.policy === "string" ? JSON.parse(k.inputs.policy) : {
        Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${scope.account}:root` }, Action: "kms:*", Resource: "*" }],
    });

    before(async () => {
        // prod with a troubleshooting grant, so its role (which has no policy of its own) is in the snapshot too.
        const access = stackRaw("prod")["byoc:access"] as Record<string, unknown>;
        const grant = {
            id: "alice-inc-1234", engineer: "alice@example.com", csrPem: engineerCsr("alice@example.com"), reason: "INC-1234 slow merges",
            approvedBy: "lead@example.com", notAfter: new Date(MOCK_NOW.getTime() + 4 * 3600_000).toISOString(),
        };
        run = await runStack("prod", { "byoc:access": { ...access, grants: [grant] } }, MOCK_NOW);
        const c = parseOrThrow({ ...readBootstrapStackFile("acme", BOOTSTRAP), "byoc-bootstrap:externalId": "acme-5d2c7f3a9b1e4c60" }, "bootstrap/Pulumi.acme.yaml");
        scope = { customer: c.customer, account: c.accountId, partition: "aws" };
        destinations = c.telemetryDestinations;
        boundary = workloadBoundaryPolicy(scope, destinations);
        roles = rolesOf(run, scope.account);
    });

    it("the bootstrap's telemetryDestinations are the prod data plane's byoc:telemetry; every role carries the workload boundary", () => {
        const telemetry = stackRaw("prod")["byoc:telemetry"] as { billingBucketArn: string; stateQueueArn: string };
        assert.deepEqual([...destinations].sort(), [telemetry.billingBucketArn, telemetry.stateQueueArn].sort());
        const expected = ["byoc-acme-nodes", "byoc-acme-eks-service", "byoc-acme-flow-logs", "byoc-acme-ebs-csi", "byoc-acme-lbc", "byoc-acme-cert-manager", "byoc-acme-billing-scraper", "byoc-acme-state-exporter", "byoc-acme-thanos", "byoc-acme-grant-alice-inc-1234"];
        assert.deepEqual(roles.map((r) => r.logical).sort(), [...expected].sort(), "the roles this spec judges are all the roles of the snapshot");
        for (const r of roles) {
            assert.equal(r.boundary, workloadBoundaryArn(scope), r.logical);
            assert.deepEqual(r.unmodeled, [], `${r.logical}: attached managed policies without a model in MANAGED`);
        }
        // A troubleshooting role's only AWS permission: describing its cluster (for `aws eks update-kubeconfig`).
        const grantPolicies = role("byoc-acme-grant-alice-inc-1234").policies;
        assert.deepEqual(grantPolicies.flatMap((d) => (d.Statement as { Action?: unknown }[]).map((x) => x.Action)), ["eks:DescribeCluster"]);
    });

    const allowedCalls = (logical: string): Call[] => {
        const cluster = `arn:aws:eks:us-east-1:${scope.account}:cluster/byoc-acme-prod`;
        const subnet = run.ofType("aws:ec2/subnet:Subnet")[0];
        const eni = ec2("network-interface/eni-0123456789abcdef0");
        const node = ec2("instance/i-0123456789abcdef0"); // tagged Name only (the launch template's instance tags)
        const nodeTags: Ctx = { "aws:ResourceTag/Name": "byoc-acme-prod-node" };
        const clusterSg: Ctx = { "aws:ResourceTag/aws:eks:cluster-name": "byoc-acme-prod" };
        const volume = ec2("volume/vol-0123456789abcdef0");
        const csiVolume: Ctx = { "aws:ResourceTag/ebs.csi.aws.com/cluster": "true", "ec2:ResourceTag/ebs.csi.aws.com/cluster": "true" };
        const data = keyOf("byoc-acme-data");
        const thanosKey = keyOf("byoc-acme-thanos");
        const thanosBucket = String(run.one("aws:s3/bucket:Bucket", "byoc-acme-thanos").outputs.bucket ?? run.one("aws:s3/bucket:Bucket", "byoc-acme-thanos").outputs.id);
        const zone = `arn:aws:route53:::hostedzone/${run.one("aws:route53/zone:Zone").outputs.zoneId}`;
        const queue = destinations.find((d) => d.includes(":sqs:"))!;
        const bucket = destinations.find((d) => d.includes(":s3:"))!;
        const table: Record<string, Call[]> = {
            "byoc-acme-nodes": [
                { action: "ecr:GetAuthorizationToken", resource: "*", why: "image pulls: registry login" },
                ...["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"].map((action) => {
                    const repo = `arn:aws:ecr:us-east-1:${AWS_ECR_ACCOUNT}:repository/eks/pause`;
                    return { action, resource: repo, account: AWS_ECR_ACCOUNT, resourcePolicy: grantTo("*", ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"], repo), why: "EKS's images, in AWS's account" };
                }),
                { action: "ecr:BatchGetImage", resource: `arn:aws:ecr:us-east-1:${scope.account}:repository/mirror/clickhouse-server`, why: "an image mirrored into the customer's own registry (untagged)" },
                { action: "eks-auth:AssumeRoleForPodIdentity", resource: cluster, context: tags(run.one("eks:index:Cluster")), why: "the Pod Identity agent" },
                { action: "eks:DescribeCluster", resource: cluster, context: own, why: "the kubelet's bootstrap" },
                { action: "ec2:DescribeNetworkInterfaces", resource: "*", why: "VPC CNI" },
                { action: "ec2:CreateNetworkInterface", resource: eni, context: {}, why: "VPC CNI: a new, untagged network interface" },
                { action: "ec2:CreateNetworkInterface", resource: ec2(`subnet/${subnet.outputs.id}`), context: tags(subnet), why: "VPC CNI: the node's subnet" },
                { action: "ec2:CreateNetworkInterface", resource: ec2("security-group/sg-0123456789abcdef0"), context: clusterSg, why: "VPC CNI: the cluster security group (EKS's tags only)" },
                { action: "ec2:CreateTags", resource: eni, context: { "aws:RequestTag/node.k8s.amazonaws.com/instance_id": "i-0123456789abcdef0", "aws:TagKeys": ["node.k8s.amazonaws.com/instance_id"] }, why: "VPC CNI tags its interface" },
                { action: "ec2:AttachNetworkInterface", resource: eni, why: "VPC CNI" },
                { action: "ec2:AttachNetworkInterface", resource: node, context: nodeTags, why: "VPC CNI: on the node" },
                { action: "ec2:AssignPrivateIpAddresses", resource: eni, why: "VPC CNI: pod IPs" },
                { action: "ec2:UnassignPrivateIpAddresses", resource: eni, why: "VPC CNI" },
                { action: "ec2:DeleteNetworkInterface", resource: eni, why: "VPC CNI" },
            ],
            "byoc-acme-ebs-csi": [
                { action: "ec2:CreateVolume", resource: volume, context: { "aws:RequestTag/ebs.csi.aws.com/cluster": "true", "aws:TagKeys": ["ebs.csi.aws.com/cluster"] }, why: "a persistent volume" },
                { action: "ec2:CreateTags", resource: volume, context: { "ec2:CreateAction": "CreateVolume", "aws:RequestTag/ebs.csi.aws.com/cluster": "true", "aws:TagKeys": ["ebs.csi.aws.com/cluster"] }, why: "its tags" },
                { action: "ec2:AttachVolume", resource: volume, context: csiVolume, why: "attach" },
                { action: "ec2:AttachVolume", resource: node, context: nodeTags, why: "attach: the node" },
                { action: "ec2:DetachVolume", resource: volume, context: csiVolume, why: "detach" },
                { action: "ec2:DeleteVolume", resource: volume, context: csiVolume, why: "delete" },
                { action: "ec2:DescribeVolumes", resource: "*", why: "describe" },
                { action: "kms:CreateGrant", resource: keyArn(data), context: { ...tags(data), "kms:GrantIsForAWSResource": "true" }, resourcePolicy: keyPolicy(data), why: "EBS encryption with the data key" },
                { action: "kms:GenerateDataKeyWithoutPlaintext", resource: keyArn(data), context: tags(data), resourcePolicy: keyPolicy(data), why: "EBS encryption" },
            ],
            "byoc-acme-eks-service": [
                { action: "ec2:CreateTags", resource: eni, context: { "aws:RequestTag/Name": "eks-cluster-sg-byoc-acme-prod", "aws:TagKeys": ["Name"] }, why: "tags on what EKS creates (a cross-account ENI)" },
                { action: "ec2:CreateTags", resource: node, context: { ...nodeTags, "aws:RequestTag/kubernetes.io/cluster/byoc-acme-prod": "owned", "aws:TagKeys": ["kubernetes.io/cluster/byoc-acme-prod"] }, why: "tags on the nodes" },
                { action: "ec2:DescribeInstances", resource: "*", why: "describe" },
                { action: "ec2:DeleteNetworkInterface", resource: eni, context: { "ec2:ResourceTag/eks:eni:owner": "amazon-vpc-cni", "aws:ResourceTag/eks:eni:owner": "amazon-vpc-cni" }, why: "the CNI's leftover interfaces" },
                { action: "elasticloadbalancing:DescribeLoadBalancers", resource: "*", why: "describe" },
                { action: "kms:DescribeKey", resource: keyArn(keyOf("byoc-acme-secrets")), context: tags(keyOf("byoc-acme-secrets")), resourcePolicy: keyPolicy(keyOf("byoc-acme-secrets")), why: "envelope encryption key" },
                { action: "iam:CreateServiceLinkedRole", resource: `arn:aws:iam::${scope.account}:role/aws-service-role/elasticloadbalancing.amazonaws.com/AWSServiceRoleForElasticLoadBalancing`, context: { "iam:AWSServiceName": "elasticloadbalancing.amazonaws.com" }, why: "ELB's service-linked role" },
            ],
            "byoc-acme-lbc": [
                { action: "iam:CreateServiceLinkedRole", resource: `arn:aws:iam::${scope.account}:role/aws-service-role/elasticloadbalancing.amazonaws.com/AWSServiceRoleForElasticLoadBalancing`, context: { "iam:AWSServiceName": "elasticloadbalancing.amazonaws.com" }, why: "ELB's service-linked role" },
                { action: "ec2:DescribeSecurityGroups", resource: "*", why: "describe" },
                { action: "elasticloadbalancing:DescribeLoadBalancers", resource: "*", why: "describe" },
                { action: "ec2:CreateSecurityGroup", resource: ec2("security-group/sg-0fedcba9876543210"), context: { "aws:RequestTag/elbv2.k8s.aws/cluster": "byoc-acme-prod", "aws:TagKeys": ["elbv2.k8s.aws/cluster"] }, why: "the load balancer's security group" },
                { action: "ec2:CreateTags", resource: ec2("security-group/sg-0fedcba9876543210"), context: { "ec2:CreateAction": "CreateSecurityGroup", "aws:RequestTag/elbv2.k8s.aws/cluster": "byoc-acme-prod", "aws:TagKeys": ["elbv2.k8s.aws/cluster"] }, why: "its tags" },
                { action: "elasticloadbalancing:CreateLoadBalancer", resource: `arn:aws:elasticloadbalancing:us-east-1:${scope.account}:loadbalancer/net/k8s-clickhou-0123456789/0123456789abcdef`, context: { "aws:RequestTag/elbv2.k8s.aws/cluster": "byoc-acme-prod", "aws:TagKeys": ["elbv2.k8s.aws/cluster"] }, why: "the NLB" },
                { action: "elasticloadbalancing:RegisterTargets", resource: `arn:aws:elasticloadbalancing:us-east-1:${scope.account}:targetgroup/k8s-clickhou-0123456789/0123456789abcdef`, context: { "aws:ResourceTag/elbv2.k8s.aws/cluster": "byoc-acme-prod" }, why: "its targets" },
            ],
            "byoc-acme-cert-manager": [
                { action: "route53:GetChange", resource: "arn:aws:route53:::change/C0123456789ABC", why: "DNS-01: wait for the change" },
                { action: "route53:ListResourceRecordSets", resource: zone, why: "DNS-01" },
                {
                    action: "route53:ChangeResourceRecordSets", resource: zone, why: "DNS-01: the challenge record",
                    context: { "route53:ChangeResourceRecordSetsNormalizedRecordNames": ["_acme-challenge.acme.byoc.example.com"], "route53:ChangeResourceRecordSetsRecordTypes": ["TXT"], "route53:ChangeResourceRecordSetsActions": ["UPSERT"] },
                },
            ],
            "byoc-acme-billing-scraper": [
                {
                    action: "s3:PutObject", resource: `${bucket}/acme/2026/11/25/usage-0001.parquet`, account: PROVIDER_ACCOUNT, why: "billing records into the provider's bucket",
                    resourcePolicy: grantTo(role("byoc-acme-billing-scraper").arn, ["s3:PutObject"], `${bucket}/acme/*`),
                },
            ],
            "byoc-acme-state-exporter": [
                // The example ARN names the customer's own account (111122223333): named in telemetryDestinations, it is reachable anyway.
                { action: "sqs:SendMessage", resource: queue, account: queue.split(":")[4], why: "service state into the provider's queue (as the example names it)" },
            ],
            "byoc-acme-thanos": [
                { action: "s3:ListBucket", resource: `arn:aws:s3:::${thanosBucket}`, why: "the metrics bucket (named in scope)" },
                { action: "s3:PutObject", resource: `arn:aws:s3:::${thanosBucket}/01HX/chunks/000001`, why: "metrics blocks" },
                { action: "s3:GetObject", resource: `arn:aws:s3:::${thanosBucket}/01HX/meta.json`, why: "metrics blocks" },
                { action: "kms:GenerateDataKey", resource: keyArn(thanosKey), context: { ...tags(thanosKey), "kms:ViaService": "s3.us-east-1.amazonaws.com" }, resourcePolicy: keyPolicy(thanosKey), why: "the bucket key" },
            ],
            "byoc-acme-flow-logs": [
                { action: "logs:CreateLogStream", resource: `arn:aws:logs:us-east-1:${scope.account}:log-group:/byoc/byoc-acme/flow-logs:log-stream:eni-0123-all`, why: "VPC flow logs" },
                { action: "logs:PutLogEvents", resource: `arn:aws:logs:us-east-1:${scope.account}:log-group:/byoc/byoc-acme/flow-logs:log-stream:eni-0123-all`, why: "VPC flow logs" },
            ],
            "byoc-acme-grant-alice-inc-1234": [],
        };
        return table[logical];
    };

    for (const logical of ["byoc-acme-nodes", "byoc-acme-ebs-csi", "byoc-acme-eks-service", "byoc-acme-lbc", "byoc-acme-cert-manager", "byoc-acme-billing-scraper", "byoc-acme-state-exporter", "byoc-acme-thanos", "byoc-acme-flow-logs"]) {
        it(`${logical}: the service's calls are allowed by its policies ∩ the workload boundary`, async () => {
            const refused: string[] = [];
            const calls = allowedCalls(logical);
            assert.ok(calls.length > 0);
            for (const c of calls) {
                const v = await judge({ role: role(logical), action: c.action, resource: c.resource, resourceAccount: c.account, context: c.context, resourcePolicy: c.resourcePolicy, boundary });
                if (v !== "Allowed") refused.push(`${v}: ${c.action} on ${c.resource} (${c.why})`);
            }
            assert.deepEqual(refused, [], `${logical}:\n  ${refused.join("\n  ")}`);
        });
    }

    it("a provider-account queue named in telemetryDestinations: allowed; the same queue unnamed, or a queue of another account: denied", async () => {
        const providerQueue = `arn:aws:sqs:us-east-1:${PROVIDER_ACCOUNT}:byoc-state`;
        const exporter = role("byoc-acme-state-exporter");
        const named = workloadBoundaryPolicy(scope, [...destinations.filter((d) => !d.includes(":sqs:")), providerQueue]);
        const send = (b: PolicyDocument, queue: string) =>
            judge({ role: exporter, action: "sqs:SendMessage", resource: queue, resourceAccount: queue.split(":")[4], identity: [ADMIN], boundary: b, resourcePolicy: grantTo(exporter.arn, ["sqs:SendMessage"], queue) });
        assert.equal(await send(named, providerQueue), "Allowed");
        assert.equal(await send(boundary, providerQueue), "ExplicitlyDenied", "not named in this bootstrap's telemetryDestinations");
        assert.equal(await send(named, `arn:aws:sqs:us-east-1:${OTHER_ACCOUNT}:byoc-state`), "ExplicitlyDenied");
    });

    describe("what no role of the data plane may do, whatever its own policy says", () => {
        const user = () => `arn:aws:iam::${scope.account}:user/byoc-acme-backdoor`;
        const denials = (): Call[] => [
            { action: "s3:GetObject", resource: "arn:aws:s3:::acme-finance-exports/2026/q4.csv", why: "the customer's untagged bucket" },
            { action: "s3:PutBucketPolicy", resource: "arn:aws:s3:::acme-finance-exports", why: "the customer's untagged bucket" },
            { action: "s3:PutBucketTagging", resource: "arn:aws:s3:::acme-finance-exports", context: { "aws:RequestTag/byoc:customer": "acme", "aws:TagKeys": ["byoc:customer"] }, why: "tagging it into scope" },
            { action: "kms:Decrypt", resource: `arn:aws:kms:us-east-1:${scope.account}:key/1234abcd-12ab-34cd-56ef-1234567890ab`, why: "the customer's untagged key" },
            { action: "kms:TagResource", resource: `arn:aws:kms:us-east-1:${scope.account}:key/1234abcd-12ab-34cd-56ef-1234567890ab`, context: { "aws:RequestTag/byoc:customer": "acme", "aws:TagKeys": ["byoc:customer"] }, why: "tagging the key into scope" },
            { action: "secretsmanager:GetSecretValue", resource: `arn:aws:secretsmanager:us-east-1:${scope.account}:secret:prod/db-password-AbCdEf`, why: "the customer's secret" },
            { action: "ssm:GetParameter", resource: `arn:aws:ssm:us-east-1:${scope.account}:parameter/prod/api-key`, why: "the customer's parameter" },
            { action: "dynamodb:Scan", resource: `arn:aws:dynamodb:us-east-1:${scope.account}:table/orders`, why: "the customer's table" },
            { action: "iam:CreateUser", resource: user(), why: "an IAM user" },
            { action: "iam:CreateAccessKey", resource: user(), why: "an access key" },
            { action: "iam:CreateRole", resource: `arn:aws:iam::${scope.account}:role/byoc-acme-escape`, context: { "aws:RequestTag/byoc:customer": "acme" }, why: "an unbounded role" },
            { action: "iam:CreateRole", resource: `arn:aws:iam::${scope.account}:role/byoc-acme-escape`, context: { "iam:PermissionsBoundary": `arn:aws:iam::${scope.account}:policy/byoc-bootstrap-acme-boundary` }, why: "a role with another boundary" },
            { action: "iam:PutRolePolicy", resource: `arn:aws:iam::${scope.account}:role/customer-ci`, context: {}, why: "granting the customer's role" },
            { action: "iam:DeleteRolePermissionsBoundary", resource: `arn:aws:iam::${scope.account}:role/byoc-acme-nodes-0123abc`, context: { "iam:PermissionsBoundary": workloadBoundaryArn(scope) }, why: "removing the boundary" },
            { action: "iam:CreatePolicyVersion", resource: workloadBoundaryArn(scope), why: "rewriting the workload boundary" },
            { action: "iam:AttachRolePolicy", resource: `arn:aws:iam::${scope.account}:role/byoc-bootstrap-acme-deploy`, context: { "iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess" }, why: "the bootstrap's roles" },
            { action: "sts:AssumeRole", resource: `arn:aws:iam::${scope.account}:role/customer-admin`, why: "a customer role outside the scope" },
            { action: "sts:AssumeRole", resource: `arn:aws:iam::${scope.account}:role/byoc-bootstrap-acme-break-glass`, why: "the break-glass role" },
            {
                action: "sts:AssumeRole", resource: `arn:aws:iam::${OTHER_ACCOUNT}:role/drop`, account: OTHER_ACCOUNT, why: "a role of another account that trusts it (a way around the boundary)",
                resourcePolicy: { Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${scope.account}:root` }, Action: "sts:AssumeRole" }] },
            },
            // Each with a resource policy open to everyone: the other account invites the data, the boundary refuses it.
            { action: "s3:PutObject", resource: "arn:aws:s3:::attacker-drop/loot.tar", account: OTHER_ACCOUNT, resourcePolicy: grantTo("*", ["s3:PutObject"], "arn:aws:s3:::attacker-drop/*"), why: "a bucket of an account not in telemetryDestinations" },
            { action: "s3:PutObject", resource: "arn:aws:s3:::example-provider-billing-eu/acme/x", account: PROVIDER_ACCOUNT, resourcePolicy: grantTo("*", ["s3:PutObject"], "arn:aws:s3:::example-provider-billing-eu/*"), why: "another bucket of the provider's own account, not named" },
            { action: "sqs:SendMessage", resource: `arn:aws:sqs:us-east-1:${OTHER_ACCOUNT}:exfil`, account: OTHER_ACCOUNT, resourcePolicy: grantTo("*", ["sqs:SendMessage"], `arn:aws:sqs:us-east-1:${OTHER_ACCOUNT}:exfil`), why: "a queue of another account" },
            { action: "sns:Publish", resource: `arn:aws:sns:us-east-1:${OTHER_ACCOUNT}:exfil`, account: OTHER_ACCOUNT, resourcePolicy: grantTo("*", ["sns:Publish"], `arn:aws:sns:us-east-1:${OTHER_ACCOUNT}:exfil`), why: "a topic of another account" },
            { action: "ec2:ModifySnapshotAttribute", resource: `arn:aws:ec2:us-east-1::snapshot/snap-0123456789abcdef0`, context: { "ec2:Add/userId": OTHER_ACCOUNT }, why: "sharing a snapshot" },
            {
                action: "route53:ChangeResourceRecordSets", resource: `arn:aws:route53:::hostedzone/Z0CUSTOMERZONE`, why: "a record outside <customer>.byoc.<parent>",
                context: { "route53:ChangeResourceRecordSetsNormalizedRecordNames": ["www.acme.com"], "route53:ChangeResourceRecordSetsRecordTypes": ["CNAME"], "route53:ChangeResourceRecordSetsActions": ["UPSERT"] },
            },
            { action: "ec2-instance-connect:SendSSHPublicKey", resource: `arn:aws:ec2:us-east-1:${scope.account}:instance/i-0customer0000000`, why: "a key onto the customer's host" },
            { action: "ssm:SendCommand", resource: `arn:aws:ec2:us-east-1:${scope.account}:instance/i-0customer0000000`, why: "a command on the customer's host" },
            { action: "ec2:CreateTrafficMirrorSession", resource: `arn:aws:ec2:us-east-1:${scope.account}:traffic-mirror-session/tms-0123456789abcdef0`, why: "mirroring the customer's traffic" },
            { action: "events:PutEvents", resource: `arn:aws:events:us-east-1:${OTHER_ACCOUNT}:event-bus/exfil`, account: OTHER_ACCOUNT, resourcePolicy: grantTo("*", ["events:PutEvents"], `arn:aws:events:us-east-1:${OTHER_ACCOUNT}:event-bus/exfil`), why: "an event bus of another account" },
            { action: "organizations:LeaveOrganization", resource: "*", why: "organization-wide" },
            { action: "cloudtrail:StopLogging", resource: `arn:aws:cloudtrail:us-east-1:${scope.account}:trail/org`, why: "the customer's audit trail" },
        ];

        it("with each role's own policies: not allowed", async () => {
            const allowed: string[] = [];
            for (const r of roles) {
                for (const c of denials()) {
                    const v = await judge({ role: r, action: c.action, resource: c.resource, resourceAccount: c.account, context: c.context, resourcePolicy: c.resourcePolicy, boundary });
                    if (v === "Allowed") allowed.push(`${r.logical}: ${c.action} on ${c.resource} (${c.why})`);
                }
            }
            assert.deepEqual(allowed, []);
        });

        it("with an administrator policy in place of the role's own (the deploy role writes them): explicitly denied by the boundary", async () => {
            const r = role("byoc-acme-thanos");
            const notDenied: string[] = [];
            for (const c of denials()) {
                const v = await judge({ role: r, action: c.action, resource: c.resource, resourceAccount: c.account, context: c.context, resourcePolicy: c.resourcePolicy, identity: [ADMIN], boundary });
                if (v !== "ExplicitlyDenied") notDenied.push(`${v}: ${c.action} on ${c.resource} (${c.why})`);
            }
            assert.deepEqual(notDenied, [], notDenied.join("\n"));
        });

        it("the ceiling is not a deny-all: an administrator policy still reaches the data plane's own resources and its destinations", async () => {
            const r = role("byoc-acme-thanos");
            const key = `arn:aws:kms:us-east-1:${scope.account}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
            const cases: Call[] = [
                { action: "s3:GetObject", resource: "arn:aws:s3:::byoc-acme-thanos-0123abc/x", why: "named in scope" },
                { action: "kms:Decrypt", resource: key, context: own, resourcePolicy: grantTo(`arn:aws:iam::${scope.account}:root`, ["kms:*"], "*"), why: "tagged for the customer (a key policy that delegates to IAM)" },
                { action: "sts:AssumeRole", resource: `arn:aws:iam::${scope.account}:role/byoc-acme-ts-fe5be6e`, why: "a data-plane role" },
                { action: "iam:CreateRole", resource: `arn:aws:iam::${scope.account}:role/byoc-acme-x`, context: { "iam:PermissionsBoundary": workloadBoundaryArn(scope) }, why: "a role under the same ceiling" },
                { action: "s3:PutObject", resource: "arn:aws:s3:::example-provider-billing/acme/x", account: PROVIDER_ACCOUNT, resourcePolicy: grantTo(r.arn, ["s3:PutObject"], "arn:aws:s3:::example-provider-billing/*"), why: "a named destination" },
            ];
            for (const c of cases) {
                const v = await judge({ role: r, action: c.action, resource: c.resource, resourceAccount: c.account, context: c.context, identity: [ADMIN], boundary, resourcePolicy: c.resourcePolicy });
                assert.equal(v, "Allowed", `${c.action} on ${c.resource} (${c.why})`);
            }
        });
    });
});
