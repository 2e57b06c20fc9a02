// Just-in-time troubleshooting access: a per-stack troubleshooting CA; for each approved grant that has not
// ended, a client certificate signed from the engineer's own CSR (the private key never leaves the engineer's
// machine, so it never enters state), ClickHouse users that accept exactly those certificates (read-only,
// system tables only), and a view-only EKS access entry. A grant past `notAfter` creates nothing, so the next
// `pulumi up` after it ends removes the certificate's ClickHouse user and the access entry.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as tls from "@pulumi/tls";
import { Grant } from "../stacks/schema";
import { ByocComponent, k8sLabels, roleTags } from "./conventions";
import { clickhouseUserName, renderClickhouseOpenSslXml, renderClickhouseUsersXml } from "./render/clickhouse";
import { checkEngineerCsr } from "./render/csr";

export const EKS_VIEW_POLICY_ARN = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy";
export const CLIENT_CERT_USES = ["client_auth", "digital_signature", "key_encipherment"];
const HOUR = 3600_000;

export interface ActiveGrant {
    grant: Grant;
    /** Whole hours the certificate is valid: min(maxCertificateHours, hours until notAfter), rounded down. */
    validityHours: number;
}

export interface GrantSelection {
    active: ActiveGrant[];
    /** Grants that create nothing, with why. */
    skipped: { id: string; reason: string }[];
}

/**
 * Which grants get a certificate at `now`. notAfter ≤ now: ended. Less than a whole hour left: also nothing,
 * because the certificate could only be issued in whole hours and would outlive the grant. Rounding down keeps
 * every certificate inside its grant; the portal makes that the hours asked for by fixing a grant's notAfter when
 * the up applying it starts, as start + hours + an issuing allowance (portal/service.ts ISSUE_ALLOWANCE_MS).
 */
export function selectGrants(grants: Grant[], maxCertificateHours: number, now: Date): GrantSelection {
    const active: ActiveGrant[] = [];
    const skipped: GrantSelection["skipped"] = [];
    for (const grant of grants) {
        const left = Date.parse(grant.notAfter) - now.getTime();
        if (!(left > 0)) {
            skipped.push({ id: grant.id, reason: `ended at ${grant.notAfter}` });
            continue;
        }
        const validityHours = Math.floor(Math.min(maxCertificateHours, left / HOUR));
        if (validityHours < 1) {
            skipped.push({ id: grant.id, reason: `ends at ${grant.notAfter}, less than one hour from ${now.toISOString()}` });
            continue;
        }
        active.push({ grant, validityHours });
    }
    return { active, skipped };
}

export interface TroubleshootingAccessArgs {
    customer: string;
    clusterName: pulumi.Input<string>;
    maxCertificateHours: number;
    grants: Grant[];
    /** The program's clock (dataPlane's `now`): decides which grants are active and how long certificates last. */
    now: Date;
    /**
     * Who may assume a grant's role (the provider's troubleshooting role, in its account). Defaults to this account
     * (its IAM policies decide); the trust policy still pins the session name to the engineer and ends at notAfter.
     */
    engineerPrincipalArn?: pulumi.Input<string>;
    /**
     * Sessions carry a source identity (chained from the bootstrap's support role): then it must be the grant's
     * engineer too, not only the session name, which whoever holds the support role could choose.
     */
    requireEngineerSourceIdentity?: boolean;
    /** Namespace of the ClickHouse installation whose operator mounts the users.d ConfigMap. */
    clickhouseNamespace?: pulumi.Input<string>;
    /** Directory where the operator mounts the ConfigMap in the ClickHouse pod. */
    clickhouseConfigDir?: string;
    caValidityHours?: number;
}

export interface GrantOutput {
    id: string;
    engineer: string;
    clickhouseUser: string;
    notAfter: string;
    validityHours: number;
    certificateExpiresAt: string;
    certPem: string;
    roleArn: string;
}

export class TroubleshootingAccess extends ByocComponent {
    readonly caCertPem: pulumi.Output<string>;
    readonly grants: pulumi.Output<GrantOutput[]>;
    readonly skipped: GrantSelection["skipped"];
    readonly usersXml: string;
    readonly openSslXml: string;

    constructor(name: string, args: TroubleshootingAccessArgs, opts?: pulumi.ComponentResourceOptions) {
        super("TroubleshootingAccess", name, "troubleshooting", opts);
        const parent = { parent: this };
        if (!Number.isInteger(args.maxCertificateHours) || args.maxCertificateHours < 1) {
            throw new pulumi.ResourceError(`TroubleshootingAccess ${name}: maxCertificateHours = ${args.maxCertificateHours} must be a whole number of hours ≥ 1`, this);
        }
        const selection = selectGrants(args.grants, args.maxCertificateHours, args.now);
        this.skipped = selection.skipped;
        for (const s of selection.skipped) pulumi.log.info(`troubleshooting grant ${s.id} creates nothing: ${s.reason}`, this);

        // Every grant that would get a certificate passes the same CSR check the portal applies to a request (a
        // hand-written grant too): exactly CN=<engineer>, nothing else in the subject, no extensions, a strong key,
        // a valid self-signature. ClickHouse maps the certificate to a user by CN alone, and the signer copies the
        // subject and requested SANs.
        for (const { grant } of selection.active) {
            const at = `byoc:access.grants[${args.grants.indexOf(grant)}] (id ${grant.id}, engineer ${grant.engineer})`;
            if (grant.engineer.length > 64) {
                throw new pulumi.ResourceError(`TroubleshootingAccess ${name}: ${at}: the engineer's e-mail is longer than 64 characters (the limit of a certificate CN and an STS session name)`, this);
            }
            const check = checkEngineerCsr(grant.csrPem, grant.engineer);
            if (!check.ok) {
                throw new pulumi.ResourceError(`TroubleshootingAccess ${name}: ${at}: csrPem ${check.problems.join("; ")}. Revoke the grant (POST /api/access-requests/${grant.id}/revoke, or remove it from byoc:access.grants) and request again with a correct CSR`, this);
            }
        }

        const caKey = new tls.PrivateKey(`${name}-troubleshooting-ca`, { algorithm: "ECDSA", ecdsaCurve: "P384" }, parent);
        const ca = new tls.SelfSignedCert(`${name}-troubleshooting-ca`, {
            privateKeyPem: caKey.privateKeyPem,
            subject: { commonName: `byoc ${args.customer} troubleshooting CA`, organization: "byoc data plane" },
            isCaCertificate: true,
            allowedUses: ["cert_signing", "crl_signing"],
            validityPeriodHours: args.caValidityHours ?? 8760,
            earlyRenewalHours: 720,
        }, parent);
        this.caCertPem = ca.certPem;

        const principal = args.engineerPrincipalArn ?? aws.getCallerIdentityOutput({}, parent).apply((id) => `arn:aws:iam::${id.accountId}:root`);
        const outputs = selection.active.map(({ grant, validityHours }) => {
            const cert = new tls.LocallySignedCert(`${name}-grant-${grant.id}`, {
                certRequestPem: grant.csrPem,
                caCertPem: ca.certPem,
                caPrivateKeyPem: caKey.privateKeyPem,
                allowedUses: CLIENT_CERT_USES,
                validityPeriodHours: validityHours,
            }, {
                parent: this,
                // Issued once per grant: a later run (with less time left) must not re-issue or extend it.
                ignoreChanges: ["validityPeriodHours"],
            });
            // A role per grant: its trust policy itself expires at notAfter, so access ends even before the next
            // `pulumi up` removes the role and its access entry; sessions are capped at one hour.
            const role = new aws.iam.Role(`${name}-grant-${grant.id}`, {
                // In the data plane's name scope (byoc-<customer>-…): the deploy role may only create roles there.
                namePrefix: `byoc-${args.customer}-ts-`,
                description: `Troubleshooting grant ${grant.id} for ${grant.engineer}, approved by ${grant.approvedBy}, until ${grant.notAfter}`.slice(0, 1000),
                maxSessionDuration: 3600,
                assumeRolePolicy: pulumi.output(principal).apply((p) => JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [{
                        Effect: "Allow",
                        Principal: { AWS: p },
                        Action: "sts:AssumeRole",
                        Condition: {
                            StringEquals: { "sts:RoleSessionName": grant.engineer, ...(args.requireEngineerSourceIdentity ? { "sts:SourceIdentity": grant.engineer } : {}) },
                            DateLessThan: { "aws:CurrentTime": new Date(grant.notAfter).toISOString() },
                        },
                    }, {
                        // Chained from the bootstrap's support role, whose sessions carry a source identity: STS
                        // authorizes passing it on as sts:SetSourceIdentity (IAM User Guide, "Monitor and control
                        // actions taken with assumed roles"), so CloudTrail still names the engineer here.
                        Effect: "Allow",
                        Principal: { AWS: p },
                        Action: "sts:SetSourceIdentity",
                        Condition: {
                            ...(args.requireEngineerSourceIdentity ? { StringEquals: { "sts:SourceIdentity": grant.engineer } } : {}),
                            DateLessThan: { "aws:CurrentTime": new Date(grant.notAfter).toISOString() },
                        },
                    }],
                })),
                tags: { ...roleTags("troubleshooting"), "byoc:grant": grant.id, "byoc:engineer": grant.engineer, "byoc:not-after": new Date(grant.notAfter).toISOString() },
            }, parent);
            const entry = new aws.eks.AccessEntry(`${name}-grant-${grant.id}`, {
                clusterName: args.clusterName,
                principalArn: role.arn,
                type: "STANDARD",
                // Audit logs name the grant and the engineer (the session name is pinned to the e-mail above).
                userName: `troubleshoot:${grant.id}:{{SessionName}}`,
                tags: roleTags("troubleshooting"),
            }, parent);
            new aws.eks.AccessPolicyAssociation(`${name}-grant-${grant.id}`, {
                clusterName: args.clusterName,
                principalArn: role.arn,
                policyArn: EKS_VIEW_POLICY_ARN,
                accessScope: { type: "cluster" },
            }, { parent: this, dependsOn: [entry] });
            // Enough AWS for `aws eks update-kubeconfig` (DescribeCluster of this cluster only); the rest is the EKS
            // access entry's view policy inside the cluster.
            new aws.iam.RolePolicy(`${name}-grant-${grant.id}`, {
                role: role.id,
                policy: pulumi.all([args.clusterName, aws.getCallerIdentityOutput({}, parent).accountId, aws.getRegionOutput({}, parent).region, aws.getPartitionOutput({}, parent).partition])
                    .apply(([cluster, account, region, partition]) => JSON.stringify({
                        Version: "2012-10-17",
                        Statement: [{ Effect: "Allow", Action: "eks:DescribeCluster", Resource: `arn:${partition}:eks:${region}:${account}:cluster/${cluster}` }],
                    })),
            }, parent);
            return pulumi.all([cert.certPem, cert.validityEndTime, role.arn]).apply(([certPem, end, roleArn]): GrantOutput => ({
                id: grant.id,
                engineer: grant.engineer,
                clickhouseUser: clickhouseUserName(grant.engineer),
                notAfter: grant.notAfter,
                validityHours,
                certificateExpiresAt: end,
                certPem,
                roleArn,
            }));
        });

        // One ClickHouse user per engineer, however many grants they hold.
        const byEngineer = new Map<string, string>();
        for (const { grant } of selection.active) {
            const prev = byEngineer.get(grant.engineer);
            if (!prev || Date.parse(grant.notAfter) > Date.parse(prev)) byEngineer.set(grant.engineer, grant.notAfter);
        }
        const configDir = args.clickhouseConfigDir ?? "/etc/clickhouse-server/troubleshooting";
        this.usersXml = renderClickhouseUsersXml([...byEngineer].map(([engineer, notAfter]) => ({ name: clickhouseUserName(engineer), commonName: engineer, notAfter })));
        this.openSslXml = renderClickhouseOpenSslXml({ caConfig: `${configDir}/troubleshooting-ca.crt`, verificationMode: "strict" });
        new k8s.core.v1.ConfigMap(`${name}-clickhouse-users`, {
            metadata: { name: "byoc-troubleshooting-users", namespace: args.clickhouseNamespace ?? "clickhouse", labels: k8sLabels("troubleshooting") },
            data: {
                "troubleshooting-users.xml": this.usersXml,
                "troubleshooting-openssl.xml": this.openSslXml,
                "troubleshooting-ca.crt": ca.certPem,
            },
        }, parent);

        this.grants = outputs.length > 0 ? pulumi.all(outputs) : pulumi.output([]);
        this.registerOutputs({ caCertPem: this.caCertPem, grants: this.grants });
    }
}
