// The EKS cluster of the data plane: private subnets only, an API endpoint that is either public but limited to
// the provider's management CIDRs or private-only, envelope encryption of Secrets with KMS, control-plane logs,
// and managed nodes without public IPs. Exposes a Kubernetes provider for the components that follow.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as eks from "@pulumi/eks";
import * as k8s from "@pulumi/kubernetes";
import { apiServerClusterIp, opensToInternet } from "../stacks/cidr";
import { ByocComponent } from "./conventions";
import { NetworkFlow } from "./flows";
import { podIdentityTrustPolicy } from "./render/iam";

export interface DataPlaneClusterArgs {
    /** EKS cluster name; unique per account and region. */
    clusterName: pulumi.Input<string>;
    vpcId: pulumi.Input<string>;
    privateSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** Kubernetes service CIDR (stacks/cidr.ts kubernetesServiceCidrFor): pinned so the API server's ClusterIP is known. */
    serviceCidr: string;
    /** The provider's management NAT CIDRs: the only sources allowed to reach a public API endpoint. */
    managementCidrs: string[];
    /** No public API endpoint at all; management then comes through the tailnet. */
    privateEndpointOnly: boolean;
    kubernetesVersion?: pulumi.Input<string>;
    nodeInstanceType: pulumi.Input<string>;
    nodeCount: { min: number; desired: number; max: number };
    logRetentionDays?: pulumi.Input<number>;
}

export class DataPlaneCluster extends ByocComponent {
    readonly clusterName: pulumi.Output<string>;
    readonly kubeconfig: pulumi.Output<string>;
    readonly provider: k8s.Provider;
    readonly clusterSecurityGroupId: pulumi.Output<string>;
    readonly nodeSecurityGroupId: pulumi.Output<string>;
    readonly nodeRoleArn: pulumi.Output<string>;
    readonly secretsKeyArn: pulumi.Output<string>;
    readonly endpointAccess: "public-restricted" | "private";
    readonly serviceCidr: string;
    /** ClusterIP of `kubernetes.default`, for NetworkPolicies that must let workloads reach the API. */
    readonly apiServerClusterIp: string;
    readonly flows: NetworkFlow[];

    constructor(name: string, args: DataPlaneClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("DataPlaneCluster", name, undefined, opts);
        const parent = { parent: this };
        if (args.managementCidrs.length === 0 && !args.privateEndpointOnly) {
            throw new pulumi.ResourceError(`DataPlaneCluster ${name}: managementCidrs is empty; a public API endpoint must be restricted to the management CIDRs`, this);
        }
        const open = args.managementCidrs.find(opensToInternet);
        if (open) {
            throw new pulumi.ResourceError(`DataPlaneCluster ${name}: managementCidrs contains ${open}; the API endpoint is never open to the whole internet`, this);
        }

        const secretsKey = new aws.kms.Key(`${name}-secrets`, {
            description: `Envelope encryption of Kubernetes Secrets in ${name}`,
            enableKeyRotation: true,
            deletionWindowInDays: 30,
        }, parent);

        // Control-plane logs go to /aws/eks/<cluster>/cluster; owning the group lets us set its retention.
        const logGroup = new aws.cloudwatch.LogGroup(`${name}-control-plane`, {
            name: pulumi.interpolate`/aws/eks/${args.clusterName}/cluster`,
            retentionInDays: args.logRetentionDays ?? 90,
        }, parent);

        const nodeRole = new aws.iam.Role(`${name}-nodes`, {
            assumeRolePolicy: aws.iam.assumeRolePolicyForPrincipal({ Service: "ec2.amazonaws.com" }),
        }, parent);
        ["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"].forEach(
            (policy) => new aws.iam.RolePolicyAttachment(`${name}-nodes-${policy}`, { role: nodeRole.name, policyArn: pulumi.interpolate`arn:aws:iam::aws:policy/${policy}` }, parent),
        );

        const cluster = new eks.Cluster(`${name}-eks`, {
            name: args.clusterName,
            version: args.kubernetesVersion,
            vpcId: args.vpcId,
            privateSubnetIds: args.privateSubnetIds,
            kubernetesServiceIpAddressRange: args.serviceCidr,
            endpointPrivateAccess: true,
            endpointPublicAccess: !args.privateEndpointOnly,
            publicAccessCidrs: args.privateEndpointOnly ? undefined : args.managementCidrs,
            encryptionConfigKeyArn: secretsKey.arn,
            enabledClusterLogTypes: ["api", "audit", "authenticator"],
            // Access entries (not aws-auth) so troubleshooting access can be granted and revoked per engineer.
            authenticationMode: eks.AuthenticationMode.Api,
            skipDefaultNodeGroup: true,
            nodeAssociatePublicIpAddress: false,
            instanceRoles: [nodeRole],
            createOidcProvider: false,
            // Without this the VPC CNI ignores NetworkPolicies, and the deny-all policies of the tailnet agents and
            // telemetry workloads would be decoration.
            vpcCniOptions: { enableNetworkPolicy: true },
            tags: {},
        }, { parent: this, dependsOn: [logGroup] });

        // Workloads get AWS credentials through EKS Pod Identity: no OIDC trust policies to keep in sync.
        new aws.eks.Addon(`${name}-pod-identity`, { clusterName: args.clusterName, addonName: "eks-pod-identity-agent" }, { parent: this, dependsOn: [cluster] });

        // The EBS CSI driver provisions the encrypted gp3 volumes that keep logs and metrics inside the VPC.
        const account = aws.getCallerIdentityOutput({}, parent).accountId;
        const ebsCsiRole = new aws.iam.Role(`${name}-ebs-csi`, {
            assumeRolePolicy: pulumi.all([account, args.clusterName]).apply(([a, clusterName]) =>
                JSON.stringify(podIdentityTrustPolicy({ account: a, session: { clusterName, namespace: "kube-system", serviceAccount: "ebs-csi-controller-sa" } }))),
        }, parent);
        new aws.iam.RolePolicyAttachment(`${name}-ebs-csi`, { role: ebsCsiRole.name, policyArn: "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy" }, parent);
        new aws.eks.Addon(`${name}-ebs-csi`, {
            clusterName: args.clusterName,
            addonName: "aws-ebs-csi-driver",
            podIdentityAssociations: [{ roleArn: ebsCsiRole.arn, serviceAccount: "ebs-csi-controller-sa" }],
        }, { parent: this, dependsOn: [cluster] });

        // Resource metrics for the HorizontalPodAutoscalers (the ingress gateway scales on CPU).
        new aws.eks.Addon(`${name}-metrics-server`, { clusterName: args.clusterName, addonName: "metrics-server" }, { parent: this, dependsOn: [cluster] });

        // Nodes: IMDSv2 only with a hop limit of 1 (pods cannot borrow the node role), encrypted gp3 root
        // volumes (logs stay on encrypted EBS), and no public IP on any interface.
        const launchTemplate = new aws.ec2.LaunchTemplate(`${name}-nodes`, {
            metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 1, httpEndpoint: "enabled" },
            blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { volumeSize: 100, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" } }],
            networkInterfaces: [{ associatePublicIpAddress: "false", securityGroups: [cluster.nodeSecurityGroupId] }],
            tagSpecifications: [{ resourceType: "instance", tags: { Name: pulumi.interpolate`${args.clusterName}-node` } }],
        }, parent);
        new aws.eks.NodeGroup(`${name}-nodes`, {
            clusterName: args.clusterName,
            nodeRoleArn: nodeRole.arn,
            subnetIds: args.privateSubnetIds,
            instanceTypes: [args.nodeInstanceType],
            scalingConfig: { minSize: args.nodeCount.min, desiredSize: args.nodeCount.desired, maxSize: args.nodeCount.max },
            launchTemplate: { id: launchTemplate.id, version: pulumi.interpolate`${launchTemplate.latestVersion}` },
            updateConfig: { maxUnavailable: 1 },
        }, { parent: this, dependsOn: [cluster] });

        this.provider = new k8s.Provider(`${name}-k8s`, { kubeconfig: cluster.kubeconfigJson, enableServerSideApply: true }, parent);

        this.clusterName = pulumi.output(args.clusterName);
        this.kubeconfig = pulumi.secret(cluster.kubeconfigJson);
        this.clusterSecurityGroupId = cluster.clusterSecurityGroupId;
        this.nodeSecurityGroupId = cluster.nodeSecurityGroupId;
        this.nodeRoleArn = nodeRole.arn;
        this.secretsKeyArn = secretsKey.arn;
        this.serviceCidr = args.serviceCidr;
        this.apiServerClusterIp = apiServerClusterIp(args.serviceCidr);
        this.endpointAccess = args.privateEndpointOnly ? "private" : "public-restricted";
        this.flows = [{
            flow: "Management → EKS API",
            direction: "inbound",
            exposure: args.privateEndpointOnly ? "private" : "public",
            restrictedBy: args.privateEndpointOnly
                ? "private endpoint only; management reaches it through the tailnet"
                : `publicAccessCidrs = ${args.managementCidrs.join(", ")}`,
            component: "DataPlaneCluster",
        }];
        this.registerOutputs({
            clusterName: this.clusterName,
            kubeconfig: this.kubeconfig,
            clusterSecurityGroupId: this.clusterSecurityGroupId,
            nodeSecurityGroupId: this.nodeSecurityGroupId,
            nodeRoleArn: this.nodeRoleArn,
            secretsKeyArn: this.secretsKeyArn,
        });
    }
}
