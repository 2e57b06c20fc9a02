// The kill switch's Kubernetes half, run by the customer with the customer's own credentials: while vendor access is
// suspended, for each of the data plane's EKS clusters named in byoc-bootstrap:dataPlaneClusters, a cluster-admin
// access entry for the customer's own principal, a Kubernetes provider that authenticates as that principal, and a
// server-side-apply patch that holds `spec.replicas: 0` on each tailnet agent Deployment. Re-enabling removes all of
// it: deleting a patch releases `spec.replicas`, which falls back to the API default of 1 (the data plane's own value),
// so the agents start again then; the provider, then the access entry go after the patches.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import { BOOTSTRAP_TAG, partitionOf } from "./policies";

/**
 * The data plane's tailnet agents: `<short>-tailscale` in namespace `tailnet-<short>` (components/TailnetEndpoint.ts,
 * ENDPOINTS and TailnetEndpoint; test/bootstrap/killSwitch.spec.ts checks this table against both). A copy, not an
 * import: the bootstrap you run stays self-contained and readable on its own.
 *
 * Only the agents, not the `<short>-nginx` Deployments: an agent is the endpoint's only presence on the tailnet
 * (nginx has no Service the tailnet reaches, and the namespace's NetworkPolicies admit only the agent to it), so
 * with no agent nothing on the tailnet reaches nginx or what is behind it.
 */
export const TAILNET_AGENTS = [
    { endpoint: "kubernetes-api", namespace: "tailnet-k8s", deployment: "k8s-tailscale" },
    { endpoint: "clickhouse-system", namespace: "tailnet-ch", deployment: "ch-tailscale" },
    { endpoint: "metrics", namespace: "tailnet-metrics", deployment: "metrics-tailscale" },
] as const;

/** EKS's managed cluster-admin access policy, in the region's partition (arn:aws-cn:eks::aws:… in China). */
export const clusterAdminPolicy = (region: string) => `arn:${partitionOf(region)}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy`;
/**
 * pulumi-kubernetes annotations (docs "Kubernetes resource annotations", and "Patch a Resource" of the server-side
 * apply guide): patchForce forces the apply over conflicts, so the Patch takes `spec.replicas` from the data plane's
 * field manager; patchFieldManager names the Patch's own manager (else a random one), so managedFields say who holds it.
 * Deleting a Patch releases its fields; a field then managed by no one resets to its default.
 */
const PATCH_FORCE = "pulumi.com/patchForce";
const PATCH_FIELD_MANAGER = "pulumi.com/patchFieldManager";
export const FIELD_MANAGER = "byoc-bootstrap-kill-switch";

export interface KillSwitchArgs {
    customer: string;
    region: string;
    /** The data plane's EKS cluster (`byoc-<customer>-<env>`). */
    clusterName: string;
    /**
     * Whose access entry to create (an IAM role or user ARN), or "existing": none, the principal running the
     * bootstrap already has cluster-admin through an entry of its own.
     */
    principalArn: pulumi.Input<string> | "existing";
    /** `aws:profile` of the bootstrap stack, for `aws eks get-token`. */
    awsProfile?: string;
}

/** The kubeconfig of the kill switch's provider: the cluster's endpoint and CA, a token from the bootstrap's own credentials. */
function killSwitchKubeconfig(o: { clusterName: string; region: string; endpoint: string; certificateAuthorityData: string; awsProfile?: string }) {
    const user = `byoc-bootstrap-kill-switch`;
    return {
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: o.clusterName, cluster: { server: o.endpoint, "certificate-authority-data": o.certificateAuthorityData } }],
        contexts: [{ name: o.clusterName, context: { cluster: o.clusterName, user } }],
        "current-context": o.clusterName,
        users: [{
            name: user,
            user: {
                exec: {
                    apiVersion: "client.authentication.k8s.io/v1beta1",
                    command: "aws",
                    args: ["eks", "get-token", "--cluster-name", o.clusterName, "--region", o.region, "--output", "json"],
                    ...(o.awsProfile ? { env: [{ name: "AWS_PROFILE", value: o.awsProfile }] } : {}),
                    interactiveMode: "Never",
                },
            },
        }],
    };
}

export class KillSwitch extends pulumi.ComponentResource {
    /** `<namespace>/<deployment>` of every agent held at 0 replicas. */
    readonly stoppedAgents: string[];

    constructor(name: string, args: KillSwitchArgs, opts?: pulumi.ComponentResourceOptions) {
        super("byoc-bootstrap:index:KillSwitch", name, {}, opts);
        if (!args.clusterName.startsWith(`byoc-${args.customer}-`)) {
            throw new Error(`KillSwitch ${name}: cluster ${args.clusterName} is not one of the byoc-${args.customer} data plane's (byoc-${args.customer}-<env>)`);
        }
        const parent = { parent: this };
        const access: pulumi.Resource[] = [];
        if (args.principalArn !== "existing") {
            // A second entry for a principal that already has one fails (EKS CreateAccessEntry: ResourceInUseException);
            // then set byoc-bootstrap:killSwitchPrincipalArn: existing.
            const entry = new aws.eks.AccessEntry(`${name}-access`, {
                clusterName: args.clusterName,
                principalArn: args.principalArn,
                type: "STANDARD",
                tags: { [BOOTSTRAP_TAG]: args.customer, "byoc:component": "KillSwitch" },
            }, parent);
            access.push(new aws.eks.AccessPolicyAssociation(`${name}-admin`, {
                clusterName: args.clusterName,
                principalArn: entry.principalArn,
                policyArn: clusterAdminPolicy(args.region),
                accessScope: { type: "cluster" },
            }, parent));
        }
        const cluster = aws.eks.getClusterOutput({ name: args.clusterName }, parent);
        const kubeconfig = pulumi.all([cluster.endpoint, cluster.certificateAuthorities]).apply(([endpoint, cas]) => JSON.stringify(killSwitchKubeconfig({
            clusterName: args.clusterName, region: args.region, endpoint, certificateAuthorityData: cas[0]?.data ?? "", awsProfile: args.awsProfile,
        })));
        const provider = new k8s.Provider(`${name}-k8s`, {
            kubeconfig,
            enableServerSideApply: true,
            // Never fall back to a kubeconfig or context of the machine running the bootstrap.
            context: args.clusterName,
        }, { parent: this, dependsOn: access });
        this.stoppedAgents = [];
        for (const a of TAILNET_AGENTS) {
            new k8s.apps.v1.DeploymentPatch(`${name}-${a.deployment}`, {
                metadata: {
                    name: a.deployment,
                    namespace: a.namespace,
                    annotations: { [PATCH_FORCE]: "true", [PATCH_FIELD_MANAGER]: FIELD_MANAGER },
                },
                spec: { replicas: 0 },
            }, { parent: this, provider, dependsOn: access });
            this.stoppedAgents.push(`${a.namespace}/${a.deployment}`);
        }
        this.registerOutputs({ stoppedAgents: this.stoppedAgents });
    }
}
