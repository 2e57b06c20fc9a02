// How management reaches the EKS API in each phase of a stack (stacks/schema.ts ApiAccess), as plain data: the
// endpoint settings of the cluster and the kubeconfig of the Kubernetes provider. Pure, so each phase is
// unit-tested without the engine.
import type { ApiAccess } from "../../stacks/schema";

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
export function endpointSettings(access: ApiAccess, managementCidrs: string[]): EndpointSettings {
    return access === "tailnet" ? { endpointPublicAccess: false } : { endpointPublicAccess: true, publicAccessCidrs: [...managementCidrs] };
}

/** Does the Kubernetes provider go through the tailnet (true) or the EKS endpoint's own kubeconfig (false)? */
export const providerViaTailnet = (access: ApiAccess) => access === "switchover" || access === "tailnet";

export interface TailnetKubeconfigArgs {
    clusterName: string;
    region: string;
    /** The agent's tailnet device name: resolves on every tailnet client through MagicDNS, nothing to publish. */
    deviceName: string;
    /** The name in the endpoint's server certificate (k8s.<customer>.<region>.aws.<domain>), verified as SNI. */
    tlsServerName: string;
    /** The stack's tailnet CA (TailnetCertificateAuthority), which signs the nginx server certificate. */
    caCertPem: string;
    /** `aws:profile` of the stack, passed to `aws eks get-token` as pulumi-eks does for its own kubeconfig. */
    awsProfile?: string;
}

/**
 * A kubeconfig that reaches the API through the tailnet endpoint: TLS to nginx (verified against the tailnet
 * CA, with the certificate's name as `tls-server-name` while the connection goes to the MagicDNS device name),
 * nginx re-encrypts to `kubernetes.default` and passes the bearer token on. The token is an EKS token from
 * `aws eks get-token` (a presigned STS GetCallerIdentity URL): it names the cluster, not the endpoint hostname,
 * so the API server accepts it whichever way the request came in.
 */
export function tailnetKubeconfig(a: TailnetKubeconfigArgs): Record<string, unknown> {
    const name = a.clusterName;
    return {
        apiVersion: "v1",
        kind: "Config",
        clusters: [{
            name,
            cluster: {
                server: `https://${a.deviceName}`,
                "tls-server-name": a.tlsServerName,
                "certificate-authority-data": Buffer.from(a.caCertPem).toString("base64"),
            },
        }],
        contexts: [{ name, context: { cluster: name, user: name } }],
        "current-context": name,
        users: [{
            name,
            user: {
                exec: {
                    apiVersion: "client.authentication.k8s.io/v1beta1",
                    command: "aws",
                    args: ["eks", "get-token", "--cluster-name", name, "--region", a.region, "--output", "json"],
                    interactiveMode: "Never",
                    ...(a.awsProfile ? { env: [{ name: "AWS_PROFILE", value: a.awsProfile }] } : {}),
                },
            },
        }],
    };
}

/** The flow row's "restricted by" text for the management path of each phase. */
export function managementFlowRestriction(access: ApiAccess, managementCidrs: string[]): string {
    const cidrs = `publicAccessCidrs = ${managementCidrs.join(", ")}`;
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
