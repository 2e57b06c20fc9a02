// The EKS cluster of the data plane: private subnets only, an API endpoint that is public but limited to the
// provider's management CIDRs or — in the "tailnet" phase of a private stack — private only, envelope encryption
// of Secrets with KMS, control-plane logs, and managed nodes without public IPs. Exposes a Kubernetes provider for
// the components that follow: through the EKS endpoint, or through the tailnet kubernetes-api endpoint.
// Order: log group → cluster → nodes → add-ons → provider, so nothing in the cluster starts before it can run.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as eks from "@pulumi/eks";
import * as k8s from "@pulumi/kubernetes";
import { apiServerClusterIp, opensToInternet } from "../stacks/cidr";
import type { ApiAccess, VendorAccessState } from "../stacks/schema";
import { endpointKubeconfig, endpointSettings, managementFlowRestriction, providerViaTailnet, tailnetKubeconfig } from "./render/apiAccess";
import { ByocComponent, KEY_OPTS } from "./conventions";
import { NetworkFlow } from "./flows";
import { dataKeyPolicy, ebsCsiKmsPolicy, podIdentityTrustPolicy } from "./render/iam";

export interface DataPlaneClusterArgs {
    /** Deletion protection (prod): `protect` on the EKS cluster and the stack's own KMS keys. */
    protect?: boolean;
    /** EKS cluster name; unique per account and region. */
    clusterName: pulumi.Input<string>;
    vpcId: pulumi.Input<string>;
    privateSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** Kubernetes service CIDR (stacks/cidr.ts kubernetesServiceCidrFor): pinned so the API server's ClusterIP is known. */
    serviceCidr: string;
    /** The provider's management NAT CIDRs: the only sources allowed to reach a public API endpoint. */
    managementCidrs: string[];
    /** How management reaches the API in this phase of the stack (stacks/schema.ts ApiAccess). */
    apiAccess: ApiAccess;
    /** "suspended": no public endpoint at all, and the Kubernetes provider uses the (private) EKS endpoint. */
    vendorAccess?: VendorAccessState;
    /**
     * The customer's bootstrap deploy role the stack deploys through. The kubeconfigs then sign their EKS tokens as
     * that role (render/apiAccess.ts eksTokenExec), the identity that created the cluster and so its admin.
     */
    deployRole?: { roleArn: string; externalId: pulumi.Input<string> };
    /** The stack's region and `aws:profile`, for the AWS CLI calls of the kubeconfigs this component writes. */
    region: string;
    awsProfile?: string;
    /** Required when the provider goes through the tailnet (phases switchover, tailnet): where it reaches the API. */
    tailnetApi?: { deviceName: string; tlsServerName: string; caCertPem: pulumi.Input<string> };
    kubernetesVersion?: pulumi.Input<string>;
    nodeInstanceType: pulumi.Input<string>;
    nodeCount: { min: number; desired: number; max: number };
    logRetentionDays?: pulumi.Input<number>;
    /**
     * The customer's KMS key (byoc:encryption.kmsKeyArn): then it encrypts Secrets, the control-plane log group and
     * the nodes' root volumes, and the component creates no key. Without it, a key of its own encrypts Secrets.
     */
    kmsKeyArn?: string;
}

/**
 * Pinned, because Istio, cert-manager, the Load Balancer Controller and kube-prometheus-stack are pinned too and
 * each supports a window of Kubernetes versions (README "Versions"); an unpinned cluster drifts out of it.
 */
export const KUBERNETES_VERSION = "1.33";

/**
 * EKS add-ons of the cluster, all after the nodes (every one but the Pod Identity agent runs a Deployment). CoreDNS
 * too: pulumi-eks skips its coredns add-on without a default node group (cluster.ts), which would leave the
 * self-managed CoreDNS of the EKS bootstrap that nothing ever upgrades.
 */
const ADDONS = ["eks-pod-identity-agent", "aws-ebs-csi-driver", "metrics-server", "coredns"] as const;

export class DataPlaneCluster extends ByocComponent {
    /** The cluster's name, as an output of the cluster: whatever consumes it waits for the cluster to exist. */
    readonly clusterName: pulumi.Output<string>;
    readonly kubeconfig: pulumi.Output<string>;
    /** Kubernetes provider for everything in the cluster; waits for the nodes and the Pod Identity agent. */
    readonly provider: k8s.Provider;
    readonly clusterSecurityGroupId: pulumi.Output<string>;
    readonly nodeRoleArn: pulumi.Output<string>;
    readonly secretsKeyArn: pulumi.Output<string>;
    /** The key of the nodes' volumes, the StorageClass's volumes and the control-plane logs. */
    readonly volumeKeyArn: pulumi.Output<string>;
    readonly apiAccess: ApiAccess;
    readonly endpointAccess: "public-restricted" | "private";
    readonly serviceCidr: string;
    /** ClusterIP of `kubernetes.default`, for NetworkPolicies that must let workloads reach the API. */
    readonly apiServerClusterIp: string;
    readonly flows: NetworkFlow[];
    /** AWS-managed policy ARNs and key policies name the partition (aws-cn, aws-us-gov stacks), as pulumi-eks does (cluster.ts). */
    private readonly partition: pulumi.Output<string>;

    constructor(name: string, args: DataPlaneClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("DataPlaneCluster", name, undefined, opts);
        this.validate(name, args);
        const parent = { parent: this };
        this.partition = aws.getPartitionOutput({}, parent).partition;

        const secretsKeyArn = args.kmsKeyArn !== undefined ? pulumi.output(args.kmsKeyArn) : new aws.kms.Key(`${name}-secrets`, {
            description: `Envelope encryption of Kubernetes Secrets in ${name}`,
            enableKeyRotation: true,
            deletionWindowInDays: 30,
        }, KEY_OPTS(this, args.protect === true)).arn;
        // Volumes and the control-plane logs: the customer's key, or one of the stack's own whose policy lets EC2 Auto
        // Scaling and CloudWatch Logs use it (an AWS-managed key would not count as the customer's).
        const dataKeyArn = args.kmsKeyArn !== undefined ? secretsKeyArn : this.createDataKey(name, args);
        // Control-plane logs go to /aws/eks/<cluster>/cluster; owning the group (created first) sets its retention.
        const logGroup = new aws.cloudwatch.LogGroup(`${name}-control-plane`, {
            name: pulumi.interpolate`/aws/eks/${args.clusterName}/cluster`,
            retentionInDays: args.logRetentionDays ?? 90,
            kmsKeyId: dataKeyArn,
        }, parent);

        const cluster = this.createCluster(name, args, secretsKeyArn, logGroup);
        // Everything that names the cluster takes the name from the cluster itself, so it waits for it (a plain
        // string would let Pod Identity associations and access entries race the ~10 minute cluster creation).
        // (The remote component's output carries the dependency; its `eksCluster` reference is only needed as that.)
        this.clusterName = pulumi.all([cluster.eksCluster, args.clusterName]).apply(([, n]) => n);
        const nodes = this.createNodes(name, args, this.clusterName, dataKeyArn);
        const podIdentityAgent = this.createAddons(name, this.clusterName, nodes, dataKeyArn);

        const vendorAccess = args.vendorAccess ?? "enabled";
        const endpoint = endpointSettings(args.apiAccess, args.managementCidrs, vendorAccess);
        const kubeconfig = this.providerKubeconfig(args, cluster, providerViaTailnet(args.apiAccess, vendorAccess));
        this.provider = new k8s.Provider(`${name}-k8s`, {
            kubeconfig,
            // The same cluster whichever way it is reached: switching phases updates the provider in place
            // instead of replacing it (which would replace every object in the cluster).
            clusterIdentifier: args.clusterName,
            enableServerSideApply: true,
            // Suspended, the API is private: from outside the VPC a run finds it unreachable. Then keep the Kubernetes
            // objects as recorded instead of failing every preview, update and refresh. What the flag does, when
            // Configure found the cluster unreachable (pulumi-kubernetes provider/pkg/provider/provider.go, 4.32.x
            // source, the newest stored; the 4.34.2 SDK documents the same flag): Check returns the old inputs, so no
            // diff and no Update; Read returns the recorded state. It does NOT cover Delete: removing a Kubernetes
            // object (or a Helm release) while unreachable still fails, which is why the removals happen in the
            // "suspending" run, while the endpoint is still reachable.
            ...(vendorAccess === "suspended" ? { skipUpdateUnreachable: true } : {}),
        }, { parent: this, dependsOn: [nodes, podIdentityAgent] });

        // The kubeconfig management uses in this phase (the tailnet one once the provider goes through the tailnet).
        this.kubeconfig = pulumi.secret(kubeconfig);
        this.clusterSecurityGroupId = cluster.clusterSecurityGroupId;
        this.nodeRoleArn = nodes.nodeRoleArn;
        this.secretsKeyArn = secretsKeyArn;
        this.volumeKeyArn = dataKeyArn;
        this.apiAccess = args.apiAccess;
        this.endpointAccess = endpoint.endpointPublicAccess ? "public-restricted" : "private";
        this.serviceCidr = args.serviceCidr;
        this.apiServerClusterIp = apiServerClusterIp(args.serviceCidr);
        this.flows = [{
            flow: "Management → EKS API",
            direction: "inbound",
            exposure: endpoint.endpointPublicAccess ? "public" : "private",
            restrictedBy: managementFlowRestriction(args.apiAccess, args.managementCidrs, vendorAccess),
            component: "DataPlaneCluster",
        }];
        this.registerOutputs({
            clusterName: this.clusterName,
            kubeconfig: this.kubeconfig,
            clusterSecurityGroupId: this.clusterSecurityGroupId,
            nodeRoleArn: this.nodeRoleArn,
            secretsKeyArn: this.secretsKeyArn,
            apiAccess: this.apiAccess,
        });
    }

    private validate(name: string, args: DataPlaneClusterArgs): void {
        const publicEndpoint = endpointSettings(args.apiAccess, args.managementCidrs, args.vendorAccess).endpointPublicAccess;
        if (args.managementCidrs.length === 0 && publicEndpoint) {
            throw new pulumi.ResourceError(`DataPlaneCluster ${name}: managementCidrs is empty; a public API endpoint (phase ${args.apiAccess}${args.vendorAccess === "suspending" ? ", vendor access suspending" : ""}) must be restricted to the management CIDRs`, this);
        }
        const open = args.managementCidrs.find(opensToInternet);
        if (open) {
            throw new pulumi.ResourceError(`DataPlaneCluster ${name}: managementCidrs contains ${open}; the API endpoint is never open to the whole internet`, this);
        }
        if (providerViaTailnet(args.apiAccess, args.vendorAccess) && !args.tailnetApi) {
            throw new pulumi.ResourceError(`DataPlaneCluster ${name}: apiAccess "${args.apiAccess}" needs tailnetApi (the kubernetes-api tailnet endpoint the provider goes through)`, this);
        }
    }

    /**
     * The cluster's service role, created here rather than by pulumi-eks so it carries the stack's permissions
     * boundary like every other role (conventions.ts) and the deploy role can pass it (its name is in scope).
     */
    private createServiceRole(name: string) {
        const role = new aws.iam.Role(`${name}-eks-service`, {
            description: "EKS manages the data plane's cluster with this role",
            assumeRolePolicy: aws.iam.assumeRolePolicyForPrincipal({ Service: "eks.amazonaws.com" }),
        }, { parent: this });
        const policy = new aws.iam.RolePolicyAttachment(`${name}-eks-service`, { role: role.name, policyArn: this.managedPolicy("AmazonEKSClusterPolicy") }, { parent: this });
        return { role, policy };
    }

    private createCluster(name: string, args: DataPlaneClusterArgs, secretsKeyArn: pulumi.Output<string>, logGroup: aws.cloudwatch.LogGroup): eks.Cluster {
        // Only with a deploy role: there the role must carry the boundary. Without one, pulumi-eks keeps creating its
        // own (a different service role would replace an existing cluster: EKS cannot change a cluster's role).
        const service = args.deployRole ? this.createServiceRole(name) : undefined;
        // A remote component gets only the providers passed to it explicitly, not its parent's (the SDK sends
        // opts.providers alone for remote resources), so the deploy-role provider is handed on here.
        const awsProvider = this.getProvider("aws::");
        return new eks.Cluster(`${name}-eks`, {
            ...(service ? { serviceRole: service.role } : {}),
            name: args.clusterName,
            version: args.kubernetesVersion ?? KUBERNETES_VERSION,
            vpcId: args.vpcId,
            privateSubnetIds: args.privateSubnetIds,
            kubernetesServiceIpAddressRange: args.serviceCidr,
            endpointPrivateAccess: true,
            ...endpointSettings(args.apiAccess, args.managementCidrs, args.vendorAccess),
            encryptionConfigKeyArn: secretsKeyArn,
            enabledClusterLogTypes: ["api", "audit", "authenticator"],
            // Access entries (not aws-auth) so troubleshooting access can be granted and revoked per engineer.
            // Managed node groups get their EC2_LINUX access entry from EKS itself, so no instanceRoles here.
            authenticationMode: eks.AuthenticationMode.Api,
            skipDefaultNodeGroup: true,
            // pulumi-eks would otherwise create its own cluster and node security groups even without a node group
            // of its own (cluster.ts); the managed nodes use the EKS-created cluster security group instead.
            skipDefaultSecurityGroups: true,
            createOidcProvider: false,
            // Without this the VPC CNI ignores NetworkPolicies, and the deny-all policies of the tailnet agents and
            // telemetry workloads would be decoration.
            vpcCniOptions: { enableNetworkPolicy: true },
            tags: {},
        }, { parent: this, dependsOn: service ? [logGroup, service.policy] : [logGroup], protect: args.protect === true, ...(awsProvider ? { providers: { aws: awsProvider } } : {}) });
    }

    /**
     * Managed nodes: IMDSv2 only with a hop limit of 1 (pods cannot borrow the node role) and encrypted gp3 root
     * volumes (logs stay on encrypted EBS). The launch template names no network interface and no security group:
     * EKS then attaches the cluster security group itself, and an interface without `deviceIndex` is rejected
     * ("Each network interface requires a device index", aws-ia/terraform-aws-eks-blueprints#363). Nodes get no
     * public IP because the private subnets never map one (DataPlaneNetwork).
     */
    private createNodes(name: string, args: DataPlaneClusterArgs, clusterName: pulumi.Output<string>, volumeKeyArn: pulumi.Output<string>) {
        const parent = { parent: this };
        const nodeRole = new aws.iam.Role(`${name}-nodes`, {
            assumeRolePolicy: aws.iam.assumeRolePolicyForPrincipal({ Service: "ec2.amazonaws.com" }),
        }, parent);
        const attachments = ["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"].map(
            (policy) => new aws.iam.RolePolicyAttachment(`${name}-nodes-${policy}`, { role: nodeRole.name, policyArn: this.managedPolicy(policy) }, parent),
        );
        const launchTemplate = new aws.ec2.LaunchTemplate(`${name}-nodes`, {
            metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 1, httpEndpoint: "enabled" },
            blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { volumeSize: 100, volumeType: "gp3", encrypted: "true", kmsKeyId: volumeKeyArn, deleteOnTermination: "true" } }],
            tagSpecifications: [{ resourceType: "instance", tags: { Name: pulumi.interpolate`${args.clusterName}-node` } }],
        }, parent);
        const group = new aws.eks.NodeGroup(`${name}-nodes`, {
            clusterName,
            nodeRoleArn: nodeRole.arn,
            subnetIds: args.privateSubnetIds,
            instanceTypes: [args.nodeInstanceType],
            scalingConfig: { minSize: args.nodeCount.min, desiredSize: args.nodeCount.desired, maxSize: args.nodeCount.max },
            launchTemplate: { id: launchTemplate.id, version: pulumi.interpolate`${launchTemplate.latestVersion}` },
            updateConfig: { maxUnavailable: 1 },
        }, { parent: this, dependsOn: attachments, customTimeouts: { create: "30m", update: "60m" } });
        return Object.assign(group, { nodeRoleArn: nodeRole.arn });
    }

    /** EKS add-ons, after the nodes: their Deployments cannot become ready on a cluster without nodes. Returns the Pod Identity agent. */
    private createAddons(name: string, clusterName: pulumi.Output<string>, nodes: aws.eks.NodeGroup, volumeKeyArn: pulumi.Output<string>): aws.eks.Addon {
        const after = { parent: this, dependsOn: [nodes], customTimeouts: { create: "20m", update: "20m" } };
        // Workloads get AWS credentials through EKS Pod Identity: no OIDC trust policies to keep in sync.
        const podIdentityAgent = new aws.eks.Addon(`${name}-pod-identity`, { clusterName, addonName: ADDONS[0] }, after);

        // The EBS CSI driver provisions the encrypted gp3 volumes that keep logs and metrics inside the VPC.
        const account = aws.getCallerIdentityOutput({}, { parent: this }).accountId;
        const ebsCsiRole = new aws.iam.Role(`${name}-ebs-csi`, {
            assumeRolePolicy: pulumi.all([account, clusterName]).apply(([a, cluster]) =>
                JSON.stringify(podIdentityTrustPolicy({ account: a, session: { clusterName: cluster, namespace: "kube-system", serviceAccount: "ebs-csi-controller-sa" } }))),
        }, { parent: this });
        const ebsPolicy = new aws.iam.RolePolicyAttachment(`${name}-ebs-csi`, { role: ebsCsiRole.name, policyArn: this.managedPolicy("service-role/AmazonEBSCSIDriverPolicy") }, { parent: this });
        // The managed policy covers AWS-managed keys only; a customer key needs these on the driver's role
        // (aws-ebs-csi-driver docs/install.md, "KMS encryption").
        new aws.iam.RolePolicy(`${name}-ebs-csi-kms`, { role: ebsCsiRole.id, policy: volumeKeyArn.apply((k) => JSON.stringify(ebsCsiKmsPolicy(k))) }, { parent: this });
        new aws.eks.Addon(`${name}-ebs-csi`, {
            clusterName,
            addonName: ADDONS[1],
            podIdentityAssociations: [{ roleArn: ebsCsiRole.arn, serviceAccount: "ebs-csi-controller-sa" }],
        }, { ...after, dependsOn: [nodes, podIdentityAgent, ebsPolicy] });

        // Resource metrics for the HorizontalPodAutoscalers (the ingress gateway scales on CPU).
        new aws.eks.Addon(`${name}-metrics-server`, { clusterName, addonName: ADDONS[2] }, after);
        // Takes over the bootstrap's self-managed CoreDNS Deployment in place.
        new aws.eks.Addon(`${name}-coredns`, { clusterName, addonName: ADDONS[3], resolveConflictsOnCreate: "OVERWRITE" }, after);
        return podIdentityAgent;
    }

    /** The stack's own key for EBS volumes and the control-plane log group, with the service grants they need. */
    private createDataKey(name: string, args: DataPlaneClusterArgs): pulumi.Output<string> {
        const parent = { parent: this };
        const account = aws.getCallerIdentityOutput({}, parent).accountId;
        const partition = this.partition;
        const region = aws.getRegionOutput({}, parent).region;
        return new aws.kms.Key(`${name}-data`, {
            description: `Encrypts the node and workload volumes and the control-plane logs of ${name}`,
            enableKeyRotation: true,
            deletionWindowInDays: 30,
            policy: pulumi.all([account, partition, region, args.clusterName]).apply(([a, p, r, cluster]) => JSON.stringify(dataKeyPolicy({ account: a, partition: p, region: r, clusterName: cluster }))),
        }, KEY_OPTS(this, args.protect === true)).arn;
    }

    private managedPolicy(name: string): pulumi.Output<string> {
        return pulumi.interpolate`arn:${this.partition}:iam::aws:policy/${name}`;
    }

    /**
     * The Kubernetes provider's kubeconfig: through the tailnet endpoint, or to the EKS endpoint. Without a deploy role
     * the endpoint one is pulumi-eks's own (`aws eks get-token` as the ambient identity, the cluster's creator); with
     * one, ours, whose token is the deploy role's (pulumi-eks's would sign as the ambient identity).
     */
    private providerKubeconfig(args: DataPlaneClusterArgs, cluster: eks.Cluster, viaTailnet: boolean): pulumi.Output<string> {
        const t = args.tailnetApi;
        if (!viaTailnet && !args.deployRole) return cluster.kubeconfigJson;
        const token = pulumi.all([args.clusterName, args.deployRole?.externalId]).apply(([clusterName, externalId]) => ({
            clusterName,
            region: args.region,
            awsProfile: args.awsProfile,
            deployRole: args.deployRole && { roleArn: args.deployRole.roleArn, externalId: externalId! },
        }));
        return viaTailnet
            ? pulumi.all([token, t!.caCertPem]).apply(([a, caCertPem]) =>
                JSON.stringify(tailnetKubeconfig({ ...a, deviceName: t!.deviceName, tlsServerName: t!.tlsServerName, caCertPem })))
            : pulumi.all([token, cluster.eksCluster.endpoint, cluster.eksCluster.certificateAuthority.data]).apply(([a, endpoint, certificateAuthorityData]) =>
                JSON.stringify(endpointKubeconfig({ ...a, endpoint, certificateAuthorityData })));
    }
}
