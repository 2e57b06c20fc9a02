// The provider's way into the customer's account, and the customer's controls over it: the deploy and support
// roles, their permissions boundary, the workload boundary every data-plane role carries, the deploy policy, the
// break-glass role and the kill switch. Documents come from
// the pure builders of ./policies; this component only creates the resources that carry them.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import {
    BOOTSTRAP_TAG, bootstrapPrefix, boundaryArn, boundaryName, boundaryPolicy, breakGlassTrustPolicy, closedTrustPolicy, deployPolicy,
    PolicyDocument, REVOKE_POLICY_NAME, revokeSessionsPolicy, Scope, supportPolicy, trailBucketPolicy, vendorTrustPolicy,
    workloadBoundaryName, workloadBoundaryPolicy,
} from "./policies";

export interface VendorAccessArgs {
    customer: string;
    account: string;
    partition: string;
    providerPrincipals: string[];
    /** Secret; `pulumi.secret` keeps it out of the plan's plain text. */
    externalId: pulumi.Input<string>;
    vendorAccess: "enabled" | "suspended";
    /** UTC second (`2026-12-01T10:00:00Z`) before which sessions are revoked when suspended. */
    suspendedAt: string;
    breakGlass: "open" | "closed";
    breakGlassPrincipals: string[];
    /** ≤ 3600. */
    maxSessionSeconds: number;
    /** ARNs of the data plane's telemetry destinations (billing bucket, state queue): the only other-account targets of its data. */
    telemetryDestinations: string[];
}

const json = (d: PolicyDocument) => JSON.stringify(d);

export class VendorAccess extends pulumi.ComponentResource {
    readonly deployRoleArn: pulumi.Output<string>;
    readonly supportRoleArn: pulumi.Output<string>;
    readonly breakGlassRoleArn: pulumi.Output<string>;
    readonly boundaryArn: pulumi.Output<string>;
    readonly workloadBoundaryArn: pulumi.Output<string>;

    constructor(name: string, args: VendorAccessArgs, opts?: pulumi.ComponentResourceOptions) {
        super("byoc-bootstrap:index:VendorAccess", name, {}, opts);
        if (args.maxSessionSeconds > 3600 || args.maxSessionSeconds < 900) {
            throw new Error(`VendorAccess ${name}: maxSessionSeconds ${args.maxSessionSeconds} must be between 900 and 3600`);
        }
        if (args.breakGlass === "open" && args.breakGlassPrincipals.length === 0) {
            throw new Error(`VendorAccess ${name}: breakGlass "open" needs breakGlassPrincipals (the customer's principals allowed in)`);
        }
        const parent = { parent: this };
        const scope: Scope = { customer: args.customer, account: args.account, partition: args.partition };
        const prefix = bootstrapPrefix(args.customer);
        const tags = { [BOOTSTRAP_TAG]: args.customer, "byoc:component": "VendorAccess" };

        const boundary = new aws.iam.Policy(`${name}-boundary`, {
            name: boundaryName(args.customer),
            description: `Permissions boundary of the byoc-${args.customer} vendor roles (deploy, support, break-glass)`,
            policy: json(boundaryPolicy(scope)),
            tags,
        }, parent);
        // The boundary names itself; its ARN is derived, so the resource's must agree.
        this.boundaryArn = boundary.arn;
        const expectedBoundary = boundaryArn(scope);
        // The ceiling of every role the data plane creates: the deploy policy (and the boundary above) let the deploy role
        // create and grant byoc-<customer>-* roles only with it. Like the boundary, a byoc-bootstrap-* policy: out of reach.
        const workloadBoundary = new aws.iam.Policy(`${name}-workload-boundary`, {
            name: workloadBoundaryName(args.customer),
            description: `Permissions boundary of every role of the byoc-${args.customer} data plane`,
            policy: json(workloadBoundaryPolicy(scope, args.telemetryDestinations)),
            tags,
        }, parent);
        this.workloadBoundaryArn = workloadBoundary.arn;

        const vendorTrust = args.vendorAccess === "enabled"
            ? pulumi.secret(pulumi.output(args.externalId).apply((externalId) => json(vendorTrustPolicy({ principals: args.providerPrincipals, externalId }))))
            : pulumi.output(json(closedTrustPolicy("VendorAccessSuspended")));

        const role = (suffix: string, description: string, trust: pulumi.Input<string>, policy: PolicyDocument) => {
            const r = new aws.iam.Role(`${name}-${suffix}`, {
                name: `${prefix}${suffix}`,
                description,
                assumeRolePolicy: trust,
                maxSessionDuration: args.maxSessionSeconds,
                permissionsBoundary: expectedBoundary,
                tags: { ...tags, "byoc:role": suffix },
            }, { parent: this, dependsOn: [boundary, workloadBoundary] });
            const p = new aws.iam.Policy(`${name}-${suffix}`, { name: `${prefix}${suffix}`, description: `${description}: permissions`, policy: json(policy), tags }, parent);
            new aws.iam.RolePolicyAttachment(`${name}-${suffix}`, { role: r.name, policyArn: p.arn }, parent);
            return r;
        };

        const deploy = role("deploy", `The provider deploys the byoc-${args.customer} data plane (vendor access ${args.vendorAccess})`, vendorTrust, deployPolicy(scope));
        const support = role("support", `The provider's read-only support for byoc-${args.customer} (vendor access ${args.vendorAccess})`, vendorTrust, supportPolicy(scope));
        const breakGlass = role(
            "break-glass",
            `Break-glass into the byoc-${args.customer} data plane, ${args.breakGlass} (opened only by the customer)`,
            json(args.breakGlass === "open" ? breakGlassTrustPolicy(args.breakGlassPrincipals) : closedTrustPolicy("BreakGlassClosed")),
            deployPolicy(scope),
        );

        // The kill switch's second half: what the console's "Revoke active sessions" does, as code.
        if (args.vendorAccess === "suspended") {
            for (const [suffix, r] of [["deploy", deploy], ["support", support]] as const) {
                new aws.iam.RolePolicy(`${name}-${suffix}-revoke`, { role: r.name, name: REVOKE_POLICY_NAME, policy: json(revokeSessionsPolicy(args.suspendedAt)) }, parent);
            }
        }

        this.deployRoleArn = deploy.arn;
        this.supportRoleArn = support.arn;
        this.breakGlassRoleArn = breakGlass.arn;
        this.registerOutputs({
            deployRoleArn: this.deployRoleArn, supportRoleArn: this.supportRoleArn, breakGlassRoleArn: this.breakGlassRoleArn,
            boundaryArn: this.boundaryArn, workloadBoundaryArn: this.workloadBoundaryArn,
        });
    }
}

export interface VendorTrailArgs {
    customer: string;
    account: string;
    partition: string;
    region: string;
}

/** A multi-region CloudTrail trail for accounts that have none, into an encrypted, private, TLS-only bucket. */
export class VendorTrail extends pulumi.ComponentResource {
    readonly trailArn: pulumi.Output<string>;
    readonly bucketName: pulumi.Output<string>;

    constructor(name: string, args: VendorTrailArgs, opts?: pulumi.ComponentResourceOptions) {
        super("byoc-bootstrap:index:VendorTrail", name, {}, opts);
        const parent = { parent: this };
        const tags = { [BOOTSTRAP_TAG]: args.customer, "byoc:component": "VendorTrail" };
        const trailName = `${bootstrapPrefix(args.customer)}trail`;
        const trailArn = `arn:${args.partition}:cloudtrail:${args.region}:${args.account}:trail/${trailName}`;
        const bucket = new aws.s3.Bucket(`${name}-trail`, { bucketPrefix: `${bootstrapPrefix(args.customer)}trail-`, forceDestroy: false, tags }, parent);
        const publicAccess = new aws.s3.BucketPublicAccessBlock(`${name}-trail`, {
            bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true,
        }, parent);
        new aws.s3.BucketOwnershipControls(`${name}-trail`, { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } }, parent);
        new aws.s3.BucketServerSideEncryptionConfiguration(`${name}-trail`, {
            bucket: bucket.id,
            rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true }],
        }, parent);
        new aws.s3.BucketVersioning(`${name}-trail`, { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } }, parent);
        const policy = new aws.s3.BucketPolicy(`${name}-trail`, {
            bucket: bucket.id,
            policy: bucket.arn.apply((bucketArn) => JSON.stringify(trailBucketPolicy({ bucketArn, account: args.account, trailArn }))),
        }, { parent: this, dependsOn: [publicAccess] });
        const trail = new aws.cloudtrail.Trail(`${name}-trail`, {
            name: trailName,
            s3BucketName: bucket.id,
            isMultiRegionTrail: true,
            includeGlobalServiceEvents: true,
            enableLogFileValidation: true,
            tags,
        }, { parent: this, dependsOn: [policy] });
        // The ARN follows from the name; the mocks of the offline preview return none.
        this.trailArn = trail.arn.apply((a) => a || trailArn);
        this.bucketName = bucket.bucket;
        this.registerOutputs({ trailArn: this.trailArn, bucketName: this.bucketName });
    }
}
