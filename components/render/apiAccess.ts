// How management reaches the EKS API in each phase of a stack (stacks/schema.ts ApiAccess), as plain data: the
// endpoint settings of the cluster and the kubeconfig of the Kubernetes provider. Pure, so each phase is
// unit-tested without the engine.
import type { ApiAccess, VendorAccessState } from "../../stacks/schema";

export interface EndpointSettings {
    endpointPublicAccess: boolean;
    /** Only with a public endpoint: EKS defaults to 0.0.0.0/0 when the list is absent. */
    publicAccessCidrs?: string[];
}

/**
 * The public endpoint is open — restricted to the management NAT CIDRs — in every phase but "tailnet" (so in
 * "switchover" a broken tailnet path fails an `up` without having closed anything). The private endpoint is always
 * on: nodes, pods and the tailnet nginx reach the API inside the VPC.
 */
export function endpointSettings(access: ApiAccess, managementCidrs: string[], vendorAccess: VendorAccessState = "enabled"): EndpointSettings {
    // Suspended: no management CIDRs, so no public endpoint at all (EKS would read an empty list as 0.0.0.0/0).
    // Suspending: the run that removes the tailnet paths reaches the API the way break-glass does, whatever the phase.
    const closed = vendorAccess === "suspended" || (vendorAccess === "enabled" && access === "tailnet");
    return closed ? { endpointPublicAccess: false } : { endpointPublicAccess: true, publicAccessCidrs: [...managementCidrs] };
}

/**
 * Does the Kubernetes provider go through the tailnet (true) or the EKS endpoint (false)? Suspending or suspended:
 * the endpoint, since the tailnet agents go (restricted-public while suspending, private once suspended).
 */
export const providerViaTailnet = (access: ApiAccess, vendorAccess: VendorAccessState = "enabled") =>
    vendorAccess === "enabled" && (access === "switchover" || access === "tailnet");

/** The customer's bootstrap deploy role, when the stack deploys through it (stacks/schema.ts DeployRole). */
export interface TokenRole {
    roleArn: string;
    externalId: string;
}

export interface EksTokenArgs {
    clusterName: string;
    region: string;
    /** `aws:profile` of the stack, passed to the AWS CLI as pulumi-eks does for its own kubeconfig. */
    awsProfile?: string;
    deployRole?: TokenRole;
}

/**
 * With a deploy role: assume it (ExternalId, and the source identity of whoever runs `up`, the same as the AWS
 * provider's session) and sign the token with that session, so the Kubernetes provider acts as the deploy role,
 * which EKS made cluster admin when it created the cluster through it. `aws eks get-token --role-arn` cannot do it:
 * it sends neither an ExternalId nor a source identity, and the bootstrap's trust policy requires both.
 * Positional parameters, never interpolation: nothing in the values reaches the shell as code.
 * (AWS STS API reference, AssumeRole: ExternalId, SourceIdentity, RoleSessionName [\w+=,.@-]{2,64}.)
 */
export const ASSUME_AND_GET_TOKEN = [
    "set -eu",
    ': "${BYOC_SOURCE_IDENTITY:?set BYOC_SOURCE_IDENTITY to your own identity (CloudTrail names it on every call of the deploy role)}"',
    'creds=$(aws sts assume-role --role-arn "$1" --external-id "$2" --source-identity "$BYOC_SOURCE_IDENTITY" --role-session-name "$BYOC_SOURCE_IDENTITY" --duration-seconds 900 --query "Credentials.[AccessKeyId,SecretAccessKey,SessionToken]" --output text)',
    'cluster=$3 region=$4',
    "set -- $creds",
    'exec env -u AWS_PROFILE AWS_ACCESS_KEY_ID="$1" AWS_SECRET_ACCESS_KEY="$2" AWS_SESSION_TOKEN="$3" aws eks get-token --cluster-name "$cluster" --region "$region" --output json',
].join("\n");

/** The kubeconfig `exec` that gets an EKS token (a presigned STS GetCallerIdentity URL naming the cluster). */
export function eksTokenExec(a: EksTokenArgs): Record<string, unknown> {
    const [command, args] = a.deployRole
        ? ["sh", ["-c", ASSUME_AND_GET_TOKEN, "byoc-eks-token", a.deployRole.roleArn, a.deployRole.externalId, a.clusterName, a.region]]
        : ["aws", ["eks", "get-token", "--cluster-name", a.clusterName, "--region", a.region, "--output", "json"]];
    return {
        apiVersion: "client.authentication.k8s.io/v1beta1",
        command,
        args,
        interactiveMode: "Never",
        ...(a.awsProfile ? { env: [{ name: "AWS_PROFILE", value: a.awsProfile }] } : {}),
    };
}

function kubeconfig(name: string, cluster: Record<string, unknown>, exec: Record<string, unknown>): Record<string, unknown> {
    return {
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name, cluster }],
        contexts: [{ name, context: { cluster: name, user: name } }],
        "current-context": name,
        users: [{ name, user: { exec } }],
    };
}

/** A kubeconfig to the EKS endpoint itself (its URL and CA), for the phases that do not go through the tailnet. */
export function endpointKubeconfig(a: EksTokenArgs & { endpoint: string; certificateAuthorityData: string }): Record<string, unknown> {
    return kubeconfig(a.clusterName, { server: a.endpoint, "certificate-authority-data": a.certificateAuthorityData }, eksTokenExec(a));
}

export interface TailnetKubeconfigArgs extends EksTokenArgs {
    /** The agent's tailnet device name: resolves on every tailnet client through MagicDNS, nothing to publish. */
    deviceName: string;
    /** The name in the endpoint's server certificate (k8s.<customer>.<region>.aws.<domain>), verified as SNI. */
    tlsServerName: string;
    /** The stack's tailnet CA (TailnetCertificateAuthority), which signs the nginx server certificate. */
    caCertPem: string;
}

/**
 * A kubeconfig that reaches the API through the tailnet endpoint: TLS to nginx (verified against the tailnet
 * CA, with the certificate's name as `tls-server-name` while the connection goes to the MagicDNS device name),
 * nginx re-encrypts to `kubernetes.default` and passes the bearer token on. The token is an EKS token (see
 * eksTokenExec): it names the cluster, not the endpoint hostname, so the API server accepts it whichever way the
 * request came in.
 */
export function tailnetKubeconfig(a: TailnetKubeconfigArgs): Record<string, unknown> {
    return kubeconfig(a.clusterName, {
        server: `https://${a.deviceName}`,
        "tls-server-name": a.tlsServerName,
        "certificate-authority-data": Buffer.from(a.caCertPem).toString("base64"),
    }, eksTokenExec(a));
}

/** The flow row's "restricted by" text for the management path of each phase. */
export function managementFlowRestriction(access: ApiAccess, managementCidrs: string[], vendorAccess: VendorAccessState = "enabled"): string {
    if (vendorAccess === "suspended") return "vendor access suspended: private endpoint only, no management CIDRs and no tailnet agents (byoc:access.vendorAccess)";
    const cidrs = `publicAccessCidrs = ${managementCidrs.join(", ")}`;
    if (vendorAccess === "suspending") return `vendor access being suspended: ${cidrs} for this one run, which removes the tailnet and grant paths; the next run (suspended) closes it`;
    switch (access) {
        case "public":
            return cidrs;
        case "bootstrap":
            return `phase bootstrap: ${cidrs} until the tailnet kubernetes-api endpoint is up (next phase closes it)`;
        case "switchover":
            return `phase switchover: ${cidrs} still open while management already reaches the API over the tailnet (ACL: management tag), EKS token auth through nginx; the next phase closes it`;
        case "tailnet":
            return "phase tailnet: private endpoint only; management reaches it over the tailnet (ACL: management tag), EKS token auth through nginx";
        case "break-glass":
            return `phase break-glass: ${cidrs} reopened for emergency access (set breakGlass: false to close it)`;
    }
}
