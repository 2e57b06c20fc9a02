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

export const CUSTOMER_TAG = "byoc:customer";
export const BOOTSTRAP_TAG = "byoc:bootstrap";

export interface Scope {
    customer: string;
    account: string;
    partition: string;
}

export const dataPlanePrefix = (customer: string) => `byoc-${customer}-`;
export const bootstrapPrefix = (customer: string) => `byoc-bootstrap-${customer}-`;
export const boundaryName = (customer: string) => `${bootstrapPrefix(customer)}boundary`;
export const boundaryArn = (s: Scope) => `arn:${s.partition}:iam::${s.account}:policy/${boundaryName(s.customer)}`;

/** The partition of a region: cn-* → aws-cn, us-gov-* → aws-us-gov, else aws. */
export const partitionOf = (region: string) => (region.startsWith("cn-") ? "aws-cn" : region.startsWith("us-gov-") ? "aws-us-gov" : "aws");

/** ARNs named inside the data plane's scope (`byoc-<customer>-…`), for the services the data plane uses. */
export function namedScope(s: Scope): string[] {
    const p = dataPlanePrefix(s.customer);
    const { partition: pt, account: a } = s;
    return [
        `arn:${pt}:iam::${a}:role/${p}*`,
        `arn:${pt}:iam::${a}:policy/${p}*`,
        `arn:${pt}:iam::${a}:instance-profile/${p}*`,
        `arn:${pt}:s3:::${p}*`,
        `arn:${pt}:s3:::${p}*/*`,
        `arn:${pt}:eks:*:${a}:cluster/${p}*`,
        `arn:${pt}:eks:*:${a}:*/${p}*/*`,
        `arn:${pt}:logs:*:${a}:log-group:${p}*`,
        `arn:${pt}:logs:*:${a}:log-group:/aws/eks/${p}*`,
        `arn:${pt}:kms:*:${a}:alias/${p}*`,
    ];
}

/** The bootstrap's own IAM resources: the roles, their policies and the boundary. */
export function bootstrapResources(s: Scope): string[] {
    const b = bootstrapPrefix(s.customer);
    return [`arn:${s.partition}:iam::${s.account}:role/${b}*`, `arn:${s.partition}:iam::${s.account}:policy/${b}*`];
}

/** Reads that IAM cannot scope to a resource (List/Describe calls answer for the region), needed to plan a deploy. */
export const UNSCOPED_READS = [
    "ec2:Describe*", "eks:Describe*", "eks:List*", "elasticloadbalancing:Describe*", "autoscaling:Describe*",
    "iam:GetRole", "iam:GetRolePolicy", "iam:GetPolicy", "iam:GetPolicyVersion", "iam:GetInstanceProfile",
    "iam:ListRoles", "iam:ListPolicies", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:ListRoleTags",
    "iam:ListInstanceProfilesForRole", "iam:ListPolicyVersions", "iam:ListOpenIDConnectProviders",
    "kms:ListAliases", "kms:ListKeys", "logs:DescribeLogGroups", "route53:ListHostedZones", "route53:GetChange",
    "s3:ListAllMyBuckets", "sts:GetCallerIdentity", "ssm:GetParameter", "ec2:GetManagedPrefixListEntries",
];

/** Create calls of the services the data plane uses; allowed only with the customer tag in the request. */
export const CREATE_ACTIONS = [
    "ec2:Create*", "ec2:RunInstances", "ec2:AllocateAddress", "ec2:CreateTags",
    "eks:CreateCluster", "eks:CreateNodegroup", "eks:CreateAddon", "eks:CreateAccessEntry", "eks:CreatePodIdentityAssociation", "eks:TagResource",
    "kms:CreateKey", "logs:CreateLogGroup", "logs:TagResource", "logs:TagLogGroup",
    "elasticloadbalancing:Create*", "elasticloadbalancing:AddTags", "autoscaling:Create*", "autoscaling:CreateOrUpdateTags",
];

/** Services whose tagged resources the data plane manages in full. */
export const MANAGED_SERVICES = ["ec2", "eks", "kms", "logs", "elasticloadbalancing", "autoscaling", "route53", "s3"];

/** Tagging calls: they are what would pull a foreign resource into the tag scope. */
export const TAG_ACTIONS = [
    "ec2:CreateTags", "ec2:DeleteTags", "eks:TagResource", "eks:UntagResource", "logs:TagResource", "logs:UntagResource", "logs:TagLogGroup",
    "logs:UntagLogGroup", "elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags", "autoscaling:CreateOrUpdateTags", "autoscaling:DeleteTags",
    "s3:PutBucketTagging", "s3:DeleteBucketTagging", "iam:TagRole", "iam:UntagRole", "iam:TagPolicy", "iam:UntagPolicy", "route53:ChangeTagsForResource",
];

/** Nothing account- or organization-wide, and nothing that blinds the customer's audit trail. */
export const ACCOUNT_WIDE_ACTIONS = [
    "organizations:*", "account:*", "billing:*", "aws-portal:*", "iam:CreateAccountAlias", "iam:DeleteAccountAlias",
    "iam:UpdateAccountPasswordPolicy", "iam:DeleteAccountPasswordPolicy", "iam:CreateSAMLProvider", "iam:UpdateSAMLProvider",
    "iam:DeleteSAMLProvider", "iam:SetSecurityTokenServicePreferences", "iam:CreateServiceLinkedRole", "iam:DeleteServiceLinkedRole",
    "sts:GetFederationToken", "s3:PutAccountPublicAccessBlock", "ec2:EnableEbsEncryptionByDefault", "ec2:DisableEbsEncryptionByDefault",
    "ec2:ModifyEbsDefaultKmsKeyId", "ec2:ResetEbsDefaultKmsKeyId", "cloudtrail:StopLogging", "cloudtrail:DeleteTrail", "cloudtrail:UpdateTrail",
    "cloudtrail:PutEventSelectors", "guardduty:*", "securityhub:*", "config:*", "ram:*", "sso:*", "identitystore:*",
];

/** IAM users and long-lived credentials. */
export const IAM_USER_ACTIONS = [
    "iam:CreateUser", "iam:CreateAccessKey", "iam:UpdateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile", "iam:AttachUserPolicy",
    "iam:PutUserPolicy", "iam:PutUserPermissionsBoundary", "iam:AddUserToGroup", "iam:CreateGroup", "iam:CreateServiceSpecificCredential",
    "iam:UploadSSHPublicKey", "iam:UploadSigningCertificate", "iam:CreateVirtualMFADevice",
];

/** Role calls that grant permissions: allowed only on roles that carry the boundary. */
export const ROLE_GRANT_ACTIONS = ["iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:PutRolePermissionsBoundary"];

const customerTagIs = (customer: string, kind: "ResourceTag" | "RequestTag") => ({ StringEquals: { [`aws:${kind}/${CUSTOMER_TAG}`]: customer } });

/**
 * The permissions boundary every role of the data plane carries (and the deploy, support and break-glass roles too).
 * It is a ceiling: allow inside the tag/name scope and the unscoped reads; explicit denies for users and keys, for
 * changing or removing the boundary, for re-tagging foreign resources, for account-wide calls and for the bootstrap.
 */
export function boundaryPolicy(s: Scope): PolicyDocument {
    const self = boundaryArn(s);
    return doc(
        { Sid: "TaggedResources", Effect: "Allow", Action: ["*"], Resource: "*", Condition: customerTagIs(s.customer, "ResourceTag") },
        { Sid: "CreateWithCustomerTag", Effect: "Allow", Action: [...CREATE_ACTIONS], Resource: "*", Condition: customerTagIs(s.customer, "RequestTag") },
        { Sid: "NamedResources", Effect: "Allow", Action: ["*"], Resource: namedScope(s) },
        { Sid: "UnscopedReads", Effect: "Allow", Action: [...UNSCOPED_READS], Resource: "*" },
        { Sid: "NoIamUsersOrKeys", Effect: "Deny", Action: [...IAM_USER_ACTIONS], Resource: "*" },
        { Sid: "NoBoundaryRemoval", Effect: "Deny", Action: ["iam:DeleteRolePermissionsBoundary", "iam:DeleteUserPermissionsBoundary"], Resource: "*" },
        {
            Sid: "RolesKeepThisBoundary",
            Effect: "Deny",
            Action: [...ROLE_GRANT_ACTIONS],
            Resource: "*",
            Condition: { StringNotEquals: { "iam:PermissionsBoundary": self } },
        },
        {
            Sid: "NoBoundaryEdits",
            Effect: "Deny",
            Action: ["iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:TagPolicy", "iam:UntagPolicy"],
            Resource: [self],
        },
        // Tag-on-create of EC2 and ELB passes (their *:CreateAction key is set); any other tagging needs the resource
        // to be the customer's already, or named in scope. Without this, tagging a foreign resource would pull it in.
        {
            Sid: "NoRetaggingForeignResources",
            Effect: "Deny",
            Action: [...TAG_ACTIONS],
            NotResource: namedScope(s),
            Condition: {
                StringNotEquals: { [`aws:ResourceTag/${CUSTOMER_TAG}`]: s.customer },
                Null: { "ec2:CreateAction": "true", "elasticloadbalancing:CreateAction": "true" },
            },
        },
        { Sid: "NothingAccountWide", Effect: "Deny", Action: [...ACCOUNT_WIDE_ACTIONS], Resource: "*" },
        { Sid: "HandsOffTheBootstrap", Effect: "Deny", NotAction: ["iam:Get*", "iam:List*"], Resource: bootstrapResources(s) },
    );
}

/**
 * What the deploy role may do: unscoped reads, create with the customer tag, manage tagged resources of the data
 * plane's services, manage named resources, and create or grant roles only when they carry the boundary.
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
            Condition: { StringEquals: { "iam:PermissionsBoundary": boundaryArn(s) } },
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
