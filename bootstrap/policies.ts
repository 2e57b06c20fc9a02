// IAM documents of the vendor-access bootstrap as plain functions over plain values (no Pulumi), so each one is
// unit-tested and judged by an IAM policy simulator statement by statement (test/bootstrap/policies.spec.ts).
//
// Scope of the data plane: resources tagged `byoc:customer = <customer>` and resources named `byoc-<customer>-…`.
// The bootstrap's own resources are OUTSIDE that scope on purpose: named `byoc-bootstrap-<customer>-…` and tagged
// `byoc:bootstrap` (never `byoc:customer`), so nothing the vendor holds can edit the roles, the boundary, the
// revocation policy or the trail that constrain it.

/** An IAM statement; unlike the data plane's shape (components/render/iam.ts) it admits NotAction and NotResource. */
export interface PolicyStatement {
    Sid?: string;
    Effect: "Allow" | "Deny";
    Principal?: "*" | Record<string, string | string[]>;
    Action?: string[];
    NotAction?: string[];
    Resource?: string | string[];
    NotResource?: string[];
    Condition?: Record<string, Record<string, string | string[]>>;
}
export interface PolicyDocument {
    Version: "2012-10-17";
    Statement: PolicyStatement[];
}
const doc = (...Statement: PolicyStatement[]): PolicyDocument => ({ Version: "2012-10-17", Statement });

const CUSTOMER_TAG = "byoc:customer";
export const BOOTSTRAP_TAG = "byoc:bootstrap";

export interface Scope {
    customer: string;
    account: string;
    partition: string;
}

const dataPlanePrefix = (customer: string) => `byoc-${customer}-`;
export const bootstrapPrefix = (customer: string) => `byoc-bootstrap-${customer}-`;
export const boundaryName = (customer: string) => `${bootstrapPrefix(customer)}boundary`;
export const boundaryArn = (s: Scope) => `arn:${s.partition}:iam::${s.account}:policy/${boundaryName(s.customer)}`;
/** The workload boundary: the ceiling of every role the data plane creates (not of the deploy, support, break-glass roles). */
export const workloadBoundaryName = (customer: string) => `${bootstrapPrefix(customer)}workload-boundary`;
export const workloadBoundaryArn = (s: Scope) => `arn:${s.partition}:iam::${s.account}:policy/${workloadBoundaryName(s.customer)}`;

/** The partition of a region: cn-* → aws-cn, us-gov-* → aws-us-gov, else aws. */
export const partitionOf = (region: string) => (region.startsWith("cn-") ? "aws-cn" : region.startsWith("us-gov-") ? "aws-us-gov" : "aws");

/**
 * ARNs named inside the data plane's scope (`byoc-<customer>-…`), for the services the data plane uses. IAM matches
 * the resource type of an ARN (`cluster/`, `role/`) literally — a wildcard there ("Incorrect wildcard usage", IAM User
 * Guide, ARNs) matches nothing — so EKS is named by its cluster only; its node groups, add-ons, access entries and
 * Pod Identity associations are the customer's by tag. `/byoc/byoc-<customer>/…` is the flow-log group
 * (DataPlaneNetwork): CloudWatch Logs authorizes the tags of CreateLogGroup as logs:TagResource on a group that has
 * no tag yet, so only a name can put it in scope.
 */
function namedScope(s: Scope): string[] {
    const p = dataPlanePrefix(s.customer);
    const { partition: pt, account: a } = s;
    return [
        `arn:${pt}:iam::${a}:role/${p}*`,
        `arn:${pt}:iam::${a}:policy/${p}*`,
        `arn:${pt}:iam::${a}:instance-profile/${p}*`,
        `arn:${pt}:s3:::${p}*`,
        `arn:${pt}:s3:::${p}*/*`,
        `arn:${pt}:eks:*:${a}:cluster/${p}*`,
        `arn:${pt}:logs:*:${a}:log-group:${p}*`,
        `arn:${pt}:logs:*:${a}:log-group:/aws/eks/${p}*`,
        `arn:${pt}:logs:*:${a}:log-group:/byoc/byoc-${s.customer}/*`,
        `arn:${pt}:kms:*:${a}:alias/${p}*`,
    ];
}

/** The bootstrap's own IAM resources: the roles, their policies and the boundary. */
function bootstrapResources(s: Scope): string[] {
    const b = bootstrapPrefix(s.customer);
    return [`arn:${s.partition}:iam::${s.account}:role/${b}*`, `arn:${s.partition}:iam::${s.account}:policy/${b}*`];
}

/** Reads that IAM cannot scope to a resource (List/Describe calls answer for the region), needed to plan a deploy. */
const UNSCOPED_READS = [
    "ec2:Describe*", "eks:Describe*", "eks:List*", "elasticloadbalancing:Describe*", "autoscaling:Describe*",
    "iam:GetRole", "iam:GetRolePolicy", "iam:GetPolicy", "iam:GetPolicyVersion", "iam:GetInstanceProfile",
    "iam:ListRoles", "iam:ListPolicies", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:ListRoleTags",
    "iam:ListInstanceProfilesForRole", "iam:ListPolicyVersions", "iam:ListOpenIDConnectProviders",
    "kms:ListAliases", "kms:ListKeys", "logs:DescribeLogGroups", "route53:ListHostedZones", "route53:GetChange",
    "s3:ListAllMyBuckets", "sts:GetCallerIdentity", "ssm:GetParameter", "ec2:GetManagedPrefixListEntries",
];

/** Create calls of the services the data plane uses; allowed only with the customer tag in the request. */
export const CREATE_ACTIONS = [
    "ec2:Create*", "ec2:RunInstances", "ec2:AllocateAddress",
    "eks:CreateCluster", "eks:CreateNodegroup", "eks:CreateAddon", "eks:CreateAccessEntry", "eks:CreatePodIdentityAssociation", "eks:TagResource",
    // KMS authorizes the tags of CreateKey as kms:TagResource, which must cover every key of the account and Region.
    "kms:CreateKey", "kms:TagResource", "logs:CreateLogGroup", "logs:TagResource", "logs:TagLogGroup",
    "elasticloadbalancing:Create*", "elasticloadbalancing:AddTags", "autoscaling:Create*",
];

/** Services whose tagged resources the data plane manages in full (Route 53 is not one: it has no tag conditions). */
const MANAGED_SERVICES = ["ec2", "eks", "kms", "logs", "elasticloadbalancing", "autoscaling"];

/**
 * Tagging calls (`*TagResource` is Tag… and Untag…, not ListTagsForResource): they are what would pull a foreign
 * resource into the tag scope. Not Route 53's: hosted zones support no tag condition, so a zone's tags grant nothing
 * (and the deny would refuse tagging the stack's own new zone). Not KMS's: the tags of CreateKey are authorized as
 * kms:TagResource on a key without tags, which IAM cannot tell from tagging an existing key (bootstrap/README.md).
 */
const TAG_ACTIONS = [
    "ec2:CreateTags", "ec2:DeleteTags", "eks:*TagResource", "logs:*TagResource", "logs:*TagLogGroup", "elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags",
    "autoscaling:CreateOrUpdateTags", "autoscaling:DeleteTags", "s3:PutBucketTagging", "s3:DeleteBucketTagging", "s3:TagResource", "s3:UntagResource", "iam:*TagRole", "iam:*TagPolicy",
];

/**
 * Nothing account- or organization-wide, and nothing that blinds the customer's audit trail. (`iam:*AccountAlias` and
 * the like also deny the matching Get/List calls, which the data plane never needs.) Service-linked roles are not
 * here: EKS, ELB and Auto Scaling create theirs with the caller's permission; see SERVICE_LINKED_ROLE_SERVICES.
 */
const ACCOUNT_WIDE_ACTIONS = [
    "organizations:*", "account:*", "billing:*", "aws-portal:*", "iam:*AccountAlias", "iam:*AccountPasswordPolicy", "iam:*SAMLProvider",
    "iam:SetSecurityTokenServicePreferences", "iam:DeleteServiceLinkedRole", "sts:GetFederationToken", "s3:PutAccountPublicAccessBlock",
    "ec2:*EbsEncryptionByDefault", "ec2:*EbsDefaultKmsKeyId", "cloudtrail:StopLogging", "cloudtrail:DeleteTrail", "cloudtrail:UpdateTrail",
    "cloudtrail:PutEventSelectors", "guardduty:*", "securityhub:*", "config:*", "ram:*", "sso:*", "identitystore:*",
];

/**
 * The service-linked roles a fresh account lacks and that are created with the CALLER's iam:CreateServiceLinkedRole
 * (with iam:AWSServiceName): EKS on CreateCluster (AWSServiceRoleForAmazonEKS), EKS node groups on CreateNodegroup
 * (AWSServiceRoleForAmazonEKSNodegroup), ELB on the first load balancer or target group — the deploy role's
 * PrivateLink NLB or the load balancer controller's role — (AWSServiceRoleForElasticLoadBalancing), and EC2 Auto
 * Scaling for the node group's Auto Scaling group (AWSServiceRoleForAutoScaling, named in the data key's policy). Not
 * spot.amazonaws.com: the node groups run on-demand capacity.
 */
const SERVICE_LINKED_ROLE_SERVICES = ["eks.amazonaws.com", "eks-nodegroup.amazonaws.com", "elasticloadbalancing.amazonaws.com", "autoscaling.amazonaws.com"];

/**
 * Route 53 supports neither resource tags nor names in IAM conditions for hosted zones, and CreateHostedZone has no
 * resource at all: these calls cannot be scoped to the stack's zone. What can be scoped is the records: changes only
 * to names under `<customer>.byoc.<parent>` (the ingress domain of every stack, and the ACME DNS-01 challenge and
 * PrivateLink verification records below it).
 */
const ROUTE53_ZONE_ACTIONS = [
    "route53:CreateHostedZone", "route53:GetHostedZone", "route53:ListResourceRecordSets", "route53:ListTagsForResource",
    "route53:ChangeTagsForResource", "route53:UpdateHostedZoneComment", "route53:DeleteHostedZone",
];
export const dnsRecordNames = (customer: string) => [`${customer}.byoc.*`, `*.${customer}.byoc.*`];

const customerTagIs = (customer: string, kind: "ResourceTag" | "RequestTag") => ({ StringEquals: { [`aws:${kind}/${CUSTOMER_TAG}`]: customer } });

/**
 * Statements the boundary and the deploy policy share: service-linked roles, the DNS zone and its records, and
 * security-group rules — a rule tagged at creation is a resource of its own (security-group-rule, aws:RequestTag), and
 * the cluster security group EKS creates carries only EKS's tags, among them `aws:eks:cluster-name` (an `aws:` tag no
 * principal can set; EKS does not propagate the cluster's tags to it), which names the data plane's cluster.
 */
function sharedGrants(s: Scope): PolicyStatement[] {
    const names = "route53:ChangeResourceRecordSetsNormalizedRecordNames";
    const rules = ["ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress"];
    return [
        { Sid: "NewSecurityGroupRules", Effect: "Allow", Action: rules, Resource: `arn:${s.partition}:ec2:*:${s.account}:security-group-rule/*`, Condition: customerTagIs(s.customer, "RequestTag") },
        {
            Sid: "EksClusterSecurityGroup",
            Effect: "Allow",
            Action: [...rules, "ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress"],
            Resource: "*",
            Condition: { StringLike: { "aws:ResourceTag/aws:eks:cluster-name": `${dataPlanePrefix(s.customer)}*` } },
        },
        {
            Sid: "ServiceLinkedRoles",
            Effect: "Allow",
            Action: ["iam:CreateServiceLinkedRole"],
            Resource: "*",
            Condition: { StringEquals: { "iam:AWSServiceName": [...SERVICE_LINKED_ROLE_SERVICES] } },
        },
        { Sid: "DnsZones", Effect: "Allow", Action: [...ROUTE53_ZONE_ACTIONS], Resource: "*" },
        {
            Sid: "DnsRecords",
            Effect: "Allow",
            Action: ["route53:ChangeResourceRecordSets"],
            Resource: "*",
            Condition: { "ForAllValues:StringLike": { [names]: dnsRecordNames(s.customer) }, Null: { [names]: "false" } },
        },
    ];
}

/** IAM users and long-lived credentials. */
const IAM_USER_ACTIONS = [
    "iam:CreateUser", "iam:*AccessKey", "iam:*LoginProfile", "iam:*UserPolicy", "iam:PutUserPermissionsBoundary", "iam:AddUserToGroup", "iam:CreateGroup",
    "iam:*ServiceSpecificCredential", "iam:UploadSSHPublicKey", "iam:UploadSigningCertificate", "iam:CreateVirtualMFADevice",
];

/** Role calls that grant permissions: allowed only on roles that carry the workload boundary. */
const ROLE_GRANT_ACTIONS = ["iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:PutRolePermissionsBoundary"];

/**
 * The permissions boundary of the deploy, support and break-glass roles (the roles the data plane creates carry the
 * workload boundary instead, workloadBoundaryPolicy). It is a ceiling: allow inside the tag/name scope and the unscoped
 * reads; explicit denies for users and keys, for removing a boundary or granting a role that lacks the workload
 * boundary, for re-tagging foreign resources, for account-wide calls and for the bootstrap (both boundaries included).
 */
export function boundaryPolicy(s: Scope): PolicyDocument {
    return doc(
        { Sid: "TaggedResources", Effect: "Allow", Action: ["*"], Resource: "*", Condition: customerTagIs(s.customer, "ResourceTag") },
        { Sid: "CreateWithCustomerTag", Effect: "Allow", Action: [...CREATE_ACTIONS], Resource: "*", Condition: customerTagIs(s.customer, "RequestTag") },
        { Sid: "NamedResources", Effect: "Allow", Action: ["*"], Resource: namedScope(s) },
        // As a ceiling, every IAM read (the deploy and support policies still grant only theirs): fits IAM's size quota.
        { Sid: "UnscopedReads", Effect: "Allow", Action: [...UNSCOPED_READS.filter((a) => !a.startsWith("iam:")), "iam:Get*", "iam:List*"], Resource: "*" },
        ...sharedGrants(s),
        { Sid: "NoIamUsersOrKeys", Effect: "Deny", Action: [...IAM_USER_ACTIONS], Resource: "*" },
        { Sid: "NoBoundaryRemoval", Effect: "Deny", Action: ["iam:DeleteRolePermissionsBoundary", "iam:DeleteUserPermissionsBoundary"], Resource: "*" },
        // The roles the deploy role creates or grants carry the workload boundary; the roles that carry THIS boundary are
        // the bootstrap's own, out of reach anyway (HandsOffTheBootstrap).
        {
            Sid: "RolesCarryTheWorkloadBoundary",
            Effect: "Deny",
            Action: [...ROLE_GRANT_ACTIONS],
            Resource: "*",
            Condition: { StringNotEquals: { "iam:PermissionsBoundary": workloadBoundaryArn(s) } },
        },
        // Tag-on-create of EC2 and ELB passes (their *:CreateAction key is set); any other tagging needs the resource
        // to be the customer's already, or named in scope. Without this, tagging a foreign resource would pull it in.
        {
            Sid: "NoRetaggingForeignResources",
            Effect: "Deny",
            Action: [...TAG_ACTIONS],
            // The named resources that have tagging calls (not instance profiles or KMS aliases: no tag action here).
            NotResource: namedScope(s).filter((a) => !/:instance-profile\/|:alias\//.test(a)),
            Condition: {
                StringNotEquals: { [`aws:ResourceTag/${CUSTOMER_TAG}`]: s.customer },
                Null: { "ec2:CreateAction": "true", "elasticloadbalancing:CreateAction": "true" },
            },
        },
        { Sid: "NothingAccountWide", Effect: "Deny", Action: [...ACCOUNT_WIDE_ACTIONS], Resource: "*" },
        // Both boundaries are the bootstrap's policies (byoc-bootstrap-<customer>-boundary, …-workload-boundary): no new
        // version, no default-version switch, no deletion, no tag change.
        { Sid: "HandsOffTheBootstrap", Effect: "Deny", NotAction: ["iam:Get*", "iam:List*"], Resource: bootstrapResources(s) },
    );
}

/**
 * Services the customer keeps data, secrets, credentials or control in; on the customer's own account a workload role
 * reaches their resources only inside the data plane's scope (workloadBoundaryPolicy, NotTheCustomersOtherResources).
 * Not here, because the data plane's services must act on resources outside the tag and name scope: EC2 (the VPC CNI's
 * network interfaces, EBS CSI's volumes, the load balancer controller's security groups carry their own tags, not the
 * customer's), ELB, Auto Scaling, ECR (images may come from the customer's mirror) and Route 53 (no tag or name
 * condition for zones; its records are bounded by name instead). The EBS direct API is denied outright
 * (NoHostAccess): IAM sends no aws:ResourceAccount for `ebs:*`, so a condition on it would never match.
 */
const CUSTOMER_DATA_SERVICES = [
    "iam", "kms", "s3", "secretsmanager", "ssm", "eks", "logs", "dynamodb", "rds", "lambda", "cloudformation",
    "sqs", "sns", "elasticfilesystem", "backup", "glue", "kinesis", "route53resolver", "ecs", "states",
];

/**
 * Calls that send data to a resource: outside the customer's account, only to the destinations the customer named.
 * EventBridge carries no aws:ResourceAccount, so `events:PutEvents` is denied everywhere but the destinations.
 */
const EGRESS_ACTIONS = [
    "s3:PutObject", "sqs:SendMessage", "sns:Publish", "kinesis:PutRecord*", "firehose:PutRecord*", "events:PutEvents",
    "lambda:InvokeFunction", "logs:PutSubscriptionFilter",
];

/** Ways onto the customer's hosts and traffic that no data-plane workload needs (EC2 is otherwise capped by the roles' own policies). */
const HOST_ACCESS_ACTIONS = [
    "ec2-instance-connect:*", "ec2:CreateTrafficMirror*", "ec2:DeleteFlowLogs", "ec2:GetPasswordData", "ebs:*", "ssm:StartSession", "ssm:SendCommand",
];

/** The resources of the telemetry destinations: an S3 ARN (bucket or prefix) also covers the objects under it. */
function telemetryResources(destinations: readonly string[]): string[] {
    const out = destinations.flatMap((d) => (d.startsWith("arn:") && d.split(":")[2] === "s3" && !d.endsWith("/*") ? [d, `${d}/*`] : [d]));
    return [...new Set(out)];
}

/**
 * The permissions boundary of every role the data plane creates (node, cluster, CSI, controller, telemetry,
 * troubleshooting roles; the program sets it on each). Unlike the deploy role's boundary it is a deny-list: those roles
 * must act on what the services create without the customer's tag (network interfaces, volumes, the cluster's security
 * groups), in AWS's accounts (ECR images of EKS add-ons) and in the provider's (the telemetry destinations). What it
 * denies holds whatever the role's own policy says — and the deploy role writes those policies:
 *  - IAM users and long-lived credentials; removing a boundary; creating or granting a role without THIS boundary (no
 *    workload role can mint an unbounded one); account- and organization-wide calls (not creating service-linked
 *    roles: the load balancer controller and EKS create ELB's); anything on the bootstrap's roles and policies;
 *  - assuming any role but the data plane's own `byoc-<customer>-*` (no lateral movement to the customer's roles, and
 *    no way out through another account's role, whose session this boundary would not bound);
 *  - on the customer's account, the customer-data services (CUSTOMER_DATA_SERVICES) on anything neither tagged for
 *    the customer nor named in scope nor a telemetry destination. `aws:ResourceAccount` is a global key, the account
 *    that owns the resource (IAM User Guide, "AWS global condition context keys"), so AWS's and the provider's
 *    resources are not matched; it is not in every request context (same page, "Availability"), and a call without
 *    it is not matched either (a condition on a missing key is false — IAM User Guide, "Condition operators");
 *  - sharing EBS snapshots or AMIs; DNS records outside `<customer>.byoc.<parent>`;
 *  - sending data (EGRESS_ACTIONS) to any other account's resource than the destinations the customer named
 *    (`byoc-bootstrap:telemetryDestinations`): here a missing key counts as another account (StringNotEquals).
 */
export function workloadBoundaryPolicy(s: Scope, telemetry: readonly string[]): PolicyDocument {
    if (telemetry.length === 0) throw new Error("workloadBoundaryPolicy: name the telemetry destinations (the data plane's billing bucket and state queue)");
    const { partition: pt, account: a } = s;
    const destinations = telemetryResources(telemetry);
    const own = { "aws:ResourceAccount": a };
    const names = "route53:ChangeResourceRecordSetsNormalizedRecordNames";
    return doc(
        { Sid: "Ceiling", Effect: "Allow", Action: ["*"], Resource: "*" },
        { Sid: "NoIamUsersOrKeys", Effect: "Deny", Action: [...IAM_USER_ACTIONS], Resource: "*" },
        { Sid: "NoBoundaryRemoval", Effect: "Deny", Action: ["iam:DeleteRolePermissionsBoundary", "iam:DeleteUserPermissionsBoundary"], Resource: "*" },
        { Sid: "RolesKeepThisBoundary", Effect: "Deny", Action: [...ROLE_GRANT_ACTIONS], Resource: "*", Condition: { StringNotEquals: { "iam:PermissionsBoundary": workloadBoundaryArn(s) } } },
        { Sid: "NothingAccountWide", Effect: "Deny", Action: [...ACCOUNT_WIDE_ACTIONS], Resource: "*" },
        { Sid: "HandsOffTheBootstrap", Effect: "Deny", NotAction: ["iam:Get*", "iam:List*"], Resource: bootstrapResources(s) },
        // Not only this account's: a session of another account's role is bounded by nothing here, so assuming one would
        // also be a way around DataLeavesOnlyToNamedDestinations.
        { Sid: "NoOtherRoles", Effect: "Deny", Action: ["sts:AssumeRole"], NotResource: [`arn:${pt}:iam::${a}:role/${dataPlanePrefix(s.customer)}*`] },
        {
            Sid: "NotTheCustomersOtherResources",
            Effect: "Deny",
            Action: CUSTOMER_DATA_SERVICES.map((x) => `${x}:*`),
            NotResource: [...namedScope(s), `arn:${pt}:iam::${a}:role/aws-service-role/elasticloadbalancing.amazonaws.com/*`, ...destinations],
            Condition: { StringEquals: own, StringNotEquals: { [`aws:ResourceTag/${CUSTOMER_TAG}`]: s.customer } },
        },
        { Sid: "NoSnapshotOrImageSharing", Effect: "Deny", Action: ["ec2:ModifySnapshotAttribute", "ec2:ModifyImageAttribute"], Resource: "*" },
        { Sid: "NoHostAccess", Effect: "Deny", Action: [...HOST_ACCESS_ACTIONS], Resource: "*" },
        { Sid: "DnsOnlyUnderTheStackDomain", Effect: "Deny", Action: ["route53:ChangeResourceRecordSets"], Resource: "*", Condition: { "ForAnyValue:StringNotLike": { [names]: dnsRecordNames(s.customer) } } },
        { Sid: "DataLeavesOnlyToNamedDestinations", Effect: "Deny", Action: [...EGRESS_ACTIONS], NotResource: destinations, Condition: { StringNotEquals: own } },
    );
}

/**
 * What the deploy role may do: unscoped reads, create with the customer tag, manage tagged resources of the data
 * plane's services, manage named resources, and create or grant roles only when they carry the workload boundary.
 */
export function deployPolicy(s: Scope): PolicyDocument {
    const p = dataPlanePrefix(s.customer);
    const roles = `arn:${s.partition}:iam::${s.account}:role/${p}*`;
    return doc(
        { Sid: "Reads", Effect: "Allow", Action: [...UNSCOPED_READS], Resource: "*" },
        { Sid: "CreateWithCustomerTag", Effect: "Allow", Action: [...CREATE_ACTIONS], Resource: "*", Condition: customerTagIs(s.customer, "RequestTag") },
        { Sid: "ManageTagged", Effect: "Allow", Action: MANAGED_SERVICES.map((x) => `${x}:*`), Resource: "*", Condition: customerTagIs(s.customer, "ResourceTag") },
        {
            Sid: "ManageNamed",
            Effect: "Allow",
            Action: ["s3:*", "eks:*", "logs:*", "kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"],
            Resource: namedScope(s).filter((a) => !a.includes(":iam::")),
        },
        {
            Sid: "RolesCarryTheBoundary",
            Effect: "Allow",
            Action: [...ROLE_GRANT_ACTIONS],
            Resource: [roles],
            Condition: { StringEquals: { "iam:PermissionsBoundary": workloadBoundaryArn(s) } },
        },
        {
            Sid: "ManageOwnRoles",
            Effect: "Allow",
            Action: [
                "iam:DeleteRole", "iam:DeleteRolePolicy", "iam:DetachRolePolicy", "iam:UpdateRole", "iam:UpdateRoleDescription",
                "iam:UpdateAssumeRolePolicy", "iam:TagRole", "iam:UntagRole", "iam:PassRole",
                "iam:CreateInstanceProfile", "iam:DeleteInstanceProfile", "iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:TagInstanceProfile",
            ],
            Resource: [roles, `arn:${s.partition}:iam::${s.account}:instance-profile/${p}*`],
        },
        ...sharedGrants(s),
        {
            Sid: "ManageOwnPolicies",
            Effect: "Allow",
            Action: ["iam:CreatePolicy", "iam:DeletePolicy", "iam:CreatePolicyVersion", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:TagPolicy", "iam:UntagPolicy"],
            Resource: [`arn:${s.partition}:iam::${s.account}:policy/${p}*`],
        },
    );
}

/** ViewOnlyAccess-like, scoped: metadata reads, the data plane's own logs; no object reads, no decrypt, no secrets. */
export function supportPolicy(s: Scope): PolicyDocument {
    const p = dataPlanePrefix(s.customer);
    return doc(
        { Sid: "Reads", Effect: "Allow", Action: [...UNSCOPED_READS, "cloudwatch:GetMetricData", "cloudwatch:ListMetrics", "cloudwatch:DescribeAlarms"], Resource: "*" },
        {
            Sid: "OwnLogs",
            Effect: "Allow",
            Action: ["logs:GetLogEvents", "logs:FilterLogEvents", "logs:DescribeLogStreams", "logs:StartQuery", "logs:GetQueryResults"],
            Resource: [`arn:${s.partition}:logs:*:${s.account}:log-group:/aws/eks/${p}*`, `arn:${s.partition}:logs:*:${s.account}:log-group:${p}*`],
        },
        // Troubleshooting grants (the data plane's byoc-<customer>-ts-… roles) chain from this role. The session has
        // a source identity (the trust requires one), and passing it on is sts:SetSourceIdentity, which a role
        // chain needs in the caller's permissions too (IAM User Guide, "Permissions required to set source identity").
        { Sid: "TroubleshootingGrants", Effect: "Allow", Action: ["sts:AssumeRole", "sts:SetSourceIdentity"], Resource: [`arn:${s.partition}:iam::${s.account}:role/${p}ts-*`] },
    );
}

export interface VendorTrust {
    /** The provider's principals (role ARNs or account roots). */
    principals: string[];
    externalId: string;
}

/**
 * Trust of the deploy and support roles while vendor access is enabled: only the provider's principals, only with
 * the ExternalId, only with a source identity set (so CloudTrail names the engineer or runner who acted).
 */
export function vendorTrustPolicy(t: VendorTrust): PolicyDocument {
    // Two statements: IAM authorizes the SourceIdentity of an AssumeRole call as its own action, sts:SetSourceIdentity,
    // whose context has sts:SourceIdentity but not sts:ExternalId (IAM service reference, AWS STS condition keys).
    const AWS = [...t.principals];
    return doc(
        {
            Sid: "ProviderWithExternalIdAndSourceIdentity",
            Effect: "Allow",
            Principal: { AWS },
            Action: ["sts:AssumeRole"],
            Condition: { StringEquals: { "sts:ExternalId": t.externalId }, Null: { "sts:SourceIdentity": "false" } },
        },
        { Sid: "ProviderSetsSourceIdentity", Effect: "Allow", Principal: { AWS }, Action: ["sts:SetSourceIdentity"], Condition: { Null: { "sts:SourceIdentity": "false" } } },
    );
}

/**
 * A trust policy that admits no one: an explicit deny for every principal, and no Allow. The actions are spelled out
 * (not `sts:*`): IAM only accepts STS assume-role actions in a trust policy ("AssumeRole policy may only specify STS
 * AssumeRole actions").
 */
export function closedTrustPolicy(sid: string): PolicyDocument {
    return doc({ Sid: sid, Effect: "Deny", Principal: { AWS: "*" }, Action: ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"] });
}

/** Trust of the break-glass role when the customer opens it: the named principals only, with a source identity. */
export function breakGlassTrustPolicy(principals: string[]): PolicyDocument {
    const AWS = [...principals];
    const withIdentity = { Null: { "sts:SourceIdentity": "false" } };
    return doc(
        { Sid: "CustomerOpenedBreakGlass", Effect: "Allow", Principal: { AWS }, Action: ["sts:AssumeRole"], Condition: withIdentity },
        { Sid: "CustomerSetsSourceIdentity", Effect: "Allow", Principal: { AWS }, Action: ["sts:SetSourceIdentity"], Condition: withIdentity },
    );
}

/** The inline policy name the IAM console's "Revoke active sessions" uses. */
export const REVOKE_POLICY_NAME = "AWSRevokeOlderSessions";

/** `YYYY-MM-DDTHH:MM:SSZ`, the form aws:TokenIssueTime is compared in. */
export const ISO_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
/** `d` in the ISO_SECONDS form. */
export const isoSeconds = (d: Date) => `${d.toISOString().slice(0, 19)}Z`;

/**
 * What "Revoke active sessions" attaches (IAM User Guide, "Revoke IAM role temporary security credentials"): deny
 * everything to sessions whose token was issued before `issuedBefore`. Sessions issued later are not affected
 * (with vendor access suspended the trust policy issues none).
 */
export function revokeSessionsPolicy(issuedBefore: string): PolicyDocument {
    if (!ISO_SECONDS.test(issuedBefore)) throw new Error(`revocation time "${issuedBefore}" must be a UTC time such as 2026-12-01T10:00:00Z`);
    return doc({ Effect: "Deny", Action: ["*"], Resource: "*", Condition: { DateLessThan: { "aws:TokenIssueTime": issuedBefore } } });
}

/** Bucket policy of the trail bucket: CloudTrail may check the ACL and write under AWSLogs/<account>/; TLS only. */
export function trailBucketPolicy(a: { bucketArn: string; account: string; trailArn: string }): PolicyDocument {
    return doc(
        { Sid: "CloudTrailAclCheck", Effect: "Allow", Principal: { Service: "cloudtrail.amazonaws.com" }, Action: ["s3:GetBucketAcl"], Resource: [a.bucketArn], Condition: { StringEquals: { "aws:SourceArn": a.trailArn } } },
        {
            Sid: "CloudTrailWrite",
            Effect: "Allow",
            Principal: { Service: "cloudtrail.amazonaws.com" },
            Action: ["s3:PutObject"],
            Resource: [`${a.bucketArn}/AWSLogs/${a.account}/*`],
            Condition: { StringEquals: { "s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceArn": a.trailArn } },
        },
        { Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: ["s3:*"], Resource: [a.bucketArn, `${a.bucketArn}/*`], Condition: { Bool: { "aws:SecureTransport": "false" } } },
    );
}
