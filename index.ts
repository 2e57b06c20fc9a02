// Composes one customer's data plane. Pulumi calls the exported function and publishes its result as the stack
// outputs; the offline preview and the tests call it the same way under the mock runtime.
import * as pulumi from "@pulumi/pulumi";
import * as kubernetes from "@pulumi/kubernetes";
import * as tailscale from "@pulumi/tailscale";
import * as aws from "@pulumi/aws";
import { loadStackConfig } from "./stacks/loader";
import { kubernetesServiceCidrFor } from "./stacks/cidr";
import { StackConfig } from "./stacks/schema";
import { sourceIdentityFrom } from "./stacks/sourceIdentity";
import { k8sLabels, registerStackConventions } from "./components/conventions";
import { NetworkFlow, ResolvedFlow } from "./components/flows";
import { DataPlaneNetwork } from "./components/DataPlaneNetwork";
import { DataPlaneCluster } from "./components/DataPlaneCluster";
import { SERVICE_ACCOUNTS, TelemetryOutbound } from "./components/TelemetryOutbound";
import { IngressGateway } from "./components/IngressGateway";
import { ENDPOINTS, TailnetCertificateAuthority, TailnetEndpoint, tailnetDeviceName, tailnetHostname } from "./components/TailnetEndpoint";
import { TroubleshootingAccess } from "./components/TroubleshootingAccess";
import { renderAclFragment } from "./components/render/tailscaleAcl";

/**
 * `sourceIdentity`: who runs `up` through the deploy role; Pulumi calls this with no arguments, and then it is
 * BYOC_SOURCE_IDENTITY (stacks/sourceIdentity.ts), read only when the stack has a deploy role. The offline preview and
 * the specs pass a stand-in instead of setting the environment.
 */
function dataPlane(config: StackConfig = loadStackConfig(), now: Date = new Date(), sourceIdentity?: string) {
    const deployRole = config.access.deployRole;
    registerStackConventions({ customer: config.customer.id, environment: config.environment, permissionsBoundary: deployRole?.boundaryArn });
    const name = `byoc-${config.customer.id}`;
    const flows: NetworkFlow[] = [];
    // The customer's kill switch as this stack sees it: no tailnet agent or key, no engineer grant (suspending and
    // suspended), no management CIDR (suspended; DataPlaneCluster).
    const suspended = config.access.vendorAccess !== "enabled";

    // Everything AWS goes through the customer's bootstrap deploy role when the stack names one (required in prod).
    const awsProvider = deployRole ? deployRoleProvider(name, config, sourceIdentity ?? sourceIdentityFrom()) : undefined;
    const viaDeployRole = { providers: awsProvider ? [awsProvider] : [] };

    const network = new DataPlaneNetwork(name, {
        protect: config.environment === "prod",
        vpcCidr: config.network.vpcCidr,
        azCount: config.network.azCount,
        natGateways: config.network.natGateways,
        peering: config.network.peering,
        flowLogRetentionDays: config.baseline.logRetentionDays,
        kmsKeyArn: config.encryption.kmsKeyArn,
    }, viaDeployRole);
    flows.push(...network.flows);

    // The tailnet endpoints' CA comes first: in the "tailnet" phase the cluster's Kubernetes provider trusts it.
    const tailnetCa = new TailnetCertificateAuthority(name, { customer: config.customer.id });
    const cluster = new DataPlaneCluster(name, {
        protect: config.environment === "prod",
        clusterName: `${name}-${config.environment}`,
        vpcId: network.vpcId,
        privateSubnetIds: network.privateSubnetIds,
        serviceCidr: kubernetesServiceCidrFor(config.network.vpcCidr),
        managementCidrs: config.controlPlane.managementCidrs,
        apiAccess: config.controlPlane.access,
        vendorAccess: config.access.vendorAccess,
        deployRole: deployRole && { roleArn: deployRole.roleArn, externalId: pulumi.secret(deployRole.externalId ?? OFFLINE_EXTERNAL_ID) },
        tailnetApi: {
            deviceName: tailnetDeviceName("kubernetes-api", config.customer.id, config.region),
            tlsServerName: tailnetHostname("kubernetes-api", config.customer.id, config.region, config.tailscale.domain),
            caCertPem: tailnetCa.certPem,
        },
        region: config.region,
        awsProfile: config.awsProfile,
        nodeInstanceType: config.baseline.nodes.instanceType,
        nodeCount: config.baseline.nodes,
        logRetentionDays: config.baseline.logRetentionDays,
        kmsKeyArn: config.encryption.kmsKeyArn,
    }, viaDeployRole);
    flows.push(...cluster.flows);
    const k8s = { providers: [cluster.provider, ...viaDeployRole.providers] };

    // [ingress] Client queries: Istio behind an NLB, cert-manager TLS, the IP allow list on the NLB and at the gateway.
    const ingress = new IngressGateway(name, {
        customer: config.customer.id,
        environment: config.environment,
        mode: config.ingress.mode,
        ipAllowList: config.ingress.ipAllowList,
        peeredCidrs: config.network.peering.map((p) => p.cidr),
        domain: config.ingress.domain,
        acmeEmail: config.ingress.acmeEmail,
        acmeServer: config.ingress.acmeServer,
        clusterName: cluster.clusterName,
        vpcId: network.vpcId,
        region: config.region,
        privateLink: config.ingress.privateLink,
        privateSubnetIds: network.privateSubnetIds,
        vpcCidr: config.network.vpcCidr,
        clusterSecurityGroupId: cluster.clusterSecurityGroupId,
    }, k8s);
    flows.push(...ingress.flows);

    // The namespace the ClickHouse operator deploys into. Created here because the troubleshooting users.d ConfigMap
    // and the billing sidecar's service account (the identity its Pod Identity role is bound to) live in it.
    const clickhouseNs = new kubernetes.core.v1.Namespace(`${name}-clickhouse`, {
        metadata: { name: "clickhouse", labels: { ...k8sLabels("clickhouse"), "pod-security.kubernetes.io/enforce": "restricted" } },
    }, { provider: cluster.provider });
    new kubernetes.core.v1.ServiceAccount(`${name}-billing-scraper`, {
        metadata: { name: SERVICE_ACCOUNTS.billing, namespace: clickhouseNs.metadata.name, labels: k8sLabels("billing-scraper") },
        automountServiceAccountToken: false,
    }, { provider: cluster.provider });

    // [tailnet] Outbound-only management access: one TailnetEndpoint per byoc:tailscale.endpoints entry (agent + nginx,
    // server certificates from the stack's internal CA) and time-bound troubleshooting certificates and EKS access.
    const access = new TroubleshootingAccess(name, {
        customer: config.customer.id,
        clusterName: cluster.clusterName,
        maxCertificateHours: config.access.maxCertificateHours,
        // Suspended: no grant creates anything (the next `up` after suspension removes every certificate and entry).
        grants: suspended ? [] : config.access.grants,
        // With a deploy role, engineers come in through the bootstrap's support role: its trust (the customer's)
        // then closes their way too. Without one, this account's own principals (its IAM policies decide).
        engineerPrincipalArn: deployRole?.supportRoleArn,
        requireEngineerSourceIdentity: deployRole !== undefined,
        now,
        clickhouseNamespace: clickhouseNs.metadata.name,
    }, k8s);
    // An explicit provider, so byoc:tailscale.tailnet is the tailnet the keys are minted in (a default provider
    // would read only tailscale:* config and fall back to "-", the OAuth client's own tailnet).
    const tailnetProvider = new tailscale.Provider(`${name}-tailscale`, {
        tailnet: config.tailscaleProvider.tailnet,
        oauthClientId: secretOrUndefined(config.tailscaleProvider.oauthClientId),
        oauthClientSecret: secretOrUndefined(config.tailscaleProvider.oauthClientSecret),
    });
    const tailnetEndpoints = (suspended ? [] : config.tailscale.endpoints).map((endpoint) => new TailnetEndpoint(`${name}-${ENDPOINTS[endpoint].short}`, {
        endpoint,
        customer: config.customer.id,
        region: config.region,
        domain: config.tailscale.domain,
        tags: config.tailscale.tags,
        oncallGroup: config.tailscale.oncallGroup,
        authKeyExpirySeconds: config.baseline.tailscaleKeyExpirySeconds,
        ca: { certPem: tailnetCa.certPem, privateKeyPem: tailnetCa.privateKeyPem },
        // ClickHouse itself presents the system-tables endpoint's certificate (nginx passes TLS through).
        serverSecretNamespace: endpoint === "clickhouse-system" ? clickhouseNs.metadata.name : undefined,
        maxCertificateHours: config.access.maxCertificateHours,
    }, { providers: [cluster.provider, tailnetProvider, ...viaDeployRole.providers] }));
    flows.push(...TailnetEndpoint.combinedFlows(tailnetEndpoints, config.tailscale.oncallGroup, config.access.maxCertificateHours));
    // Suspended: no endpoint, so nothing for the tailnet ACL to admit (the provider removes the fragment).
    const tailnetAclFragment = suspended ? undefined : renderAclFragment({
        oncallGroup: config.tailscale.oncallGroup,
        tags: config.tailscale.tags,
        managementTag: config.tailscale.managementTag,
        endpoints: tailnetEndpoints.map((e) => ({ hostname: e.hostname, ports: e.tailnetPorts })),
    });

    // [telemetry] Billing → provider S3, state → provider SQS, alerts → provider webhook; metrics and logs stay in the VPC.
    const telemetry = new TelemetryOutbound(name, {
        customerId: config.customer.id,
        environment: config.environment,
        region: config.region,
        clusterName: cluster.clusterName,
        vpcCidr: config.network.vpcCidr,
        apiServerClusterIp: cluster.apiServerClusterIp,
        s3EndpointId: network.s3EndpointId,
        billingBucketArn: config.telemetry.billingBucketArn,
        stateQueueArn: config.telemetry.stateQueueArn,
        alertWebhookUrl: config.telemetry.alertWebhookUrl,
        metricsRetentionDays: config.baseline.logRetentionDays,
        kmsKeyArn: config.encryption.kmsKeyArn,
        volumeKeyArn: cluster.volumeKeyArn,
    }, k8s);
    flows.push(...telemetry.flows);

    return {
        operatorActions: operatorActions(config, {
            nameServers: ingress.nameServers,
            peeringConnectionIds: network.peeringConnectionIds,
            endpointService: ingress.endpointService?.serviceName ?? pulumi.output(""),
            endpointServiceId: ingress.endpointService?.id ?? pulumi.output(""),
        }),
        vpcId: network.vpcId,
        vpcCidr: network.vpcCidr,
        availabilityZones: network.availabilityZones,
        privateSubnetIds: network.privateSubnetIds,
        publicSubnetIds: network.publicSubnetIds,
        privateRouteTableIds: network.privateRouteTableIds,
        natPublicIps: network.natPublicIps,
        s3EndpointId: network.s3EndpointId,
        clusterName: cluster.clusterName,
        clusterEndpointAccess: cluster.endpointAccess,
        clusterApiAccess: cluster.apiAccess,
        kubeconfig: cluster.kubeconfig,
        ingressHostname: ingress.hostname,
        ingressScheme: ingress.scheme,
        ingressAllowList: ingress.allowList,
        ingressLoadBalancerHostname: ingress.loadBalancerHostname,
        ingressNameServers: ingress.nameServers,
        // mode privatelink: what the customer's interface endpoint connects to, and the name it resolves with private DNS.
        ...(ingress.endpointService
            ? { ingressEndpointService: pulumi.all([ingress.endpointService.serviceName, ingress.endpointService.id]).apply(([serviceName, id]) => ({ serviceName, id, privateDnsName: ingress.endpointService!.privateDnsName })) }
            : {}),
        telemetryNamespace: telemetry.namespace,
        telemetryStorageClass: telemetry.storageClassName,
        telemetryThanosBucket: telemetry.thanosBucketName,
        telemetryBillingRoleArn: telemetry.billingRoleArn,
        telemetryStateExporterRoleArn: telemetry.stateExporterRoleArn,
        telemetryStateQueueUrl: telemetry.stateQueueUrl,
        telemetryBillingSidecar: telemetry.billingSidecar,
        tailnetHostnames: Object.fromEntries(tailnetEndpoints.map((e) => [e.endpoint, e.hostname])),
        // Every name an endpoint answers to, and the records that make the published names resolve on the tailnet
        // (the provider's zone for byoc:tailscale.domain: A records to the devices' 100.x addresses, README).
        tailnetDevices: pulumi.all(tailnetEndpoints.map((e) => e.device.apply((d) => [e.endpoint, { hostname: e.hostname, deviceName: e.deviceName, ...d }] as const))).apply(Object.fromEntries),
        tailnetDnsRecords: pulumi.all(tailnetEndpoints.map((e) => e.device.apply((d) => d.addresses.filter((a) => a.includes(".")).map((a) => ({ name: e.hostname, type: "A", value: a }))))).apply((r) => r.flat()),
        tailnetCaCertPem: tailnetCa.certPem,
        ...(tailnetAclFragment ? { tailnetAclFragment } : {}),
        // The customer's kill switch as this stack applies it, and the deploy role it goes through (policy pack,
        // portal and README read them).
        vendorAccess: config.access.vendorAccess,
        ...(deployRole ? { deployRoleArn: deployRole.roleArn } : {}),
        troubleshootingCaCertPem: access.caCertPem,
        troubleshootingGrants: access.grants,
        encryptionKeys: encryptionKeys(config, { secrets: cluster.secretsKeyArn, volumes: cluster.volumeKeyArn, thanos: telemetry.thanosKeyArn, flowLogs: network.flowLogKeyArn }),
        networkFlows: resolveFlows(flows),
    };
}

/** Offline (a stack file holds only ciphertext): the preview stands this in for the ExternalId. */
const OFFLINE_EXTERNAL_ID = "offline-preview-placeholder-external-id";

/**
 * The AWS provider of every AWS resource and call of the stack: a session of the customer's bootstrap deploy role,
 * with its ExternalId and the source identity of whoever runs `up` (so CloudTrail names them), pinned to the role's
 * account. It reads no `aws:` config, so the stack's are passed on.
 * The EKS cluster is created through it, so EKS makes this role the cluster's admin (pulumi-eks v4.3.0 sets
 * bootstrapClusterCreatorAdminPermissions: true, nodejs/eks/cluster/cluster.ts) and the kubeconfigs sign as it.
 */
function deployRoleProvider(name: string, config: StackConfig, identity: string): aws.Provider {
    const role = config.access.deployRole!;
    const s = config.awsSettings;
    return new aws.Provider(`${name}-aws`, {
        region: config.region as aws.Region,
        profile: config.awsProfile,
        // Pinned to the role's account (the schema refuses aws:forbiddenAccountIds with a deploy role: the AWS
        // provider rejects both lists together, terraform-provider-aws ConflictsWith).
        allowedAccountIds: [role.account],
        defaultTags: s.defaultTags,
        maxRetries: s.maxRetries,
        retryMode: s.retryMode,
        assumeRoles: [{
            roleArn: role.roleArn,
            externalId: pulumi.secret(role.externalId ?? OFFLINE_EXTERNAL_ID),
            sourceIdentity: identity,
            sessionName: identity,
            // No duration: the provider's default session (15 min, refreshed as needed: aws-sdk-go-v2
            // credentials/stscreds DefaultDuration, which the AWS provider's assume_role uses) fits any MaxSessionDuration the
            // customer set on the role (900–3600 s), where a fixed "1h" would fail AssumeRole below 3600.
        }],
    });
}

/**
 * What a person (or the portal) must do outside this program for the stack to work: steps Pulumi cannot take from
 * the customer's account. The offline preview prints them; the portal shows them with the customer.
 */
function operatorActions(config: StackConfig, out: {
    nameServers: pulumi.Output<string[]>;
    peeringConnectionIds: pulumi.Output<string[]>;
    endpointService: pulumi.Output<string>;
    endpointServiceId: pulumi.Output<string>;
}): pulumi.Output<string[]> {
    return pulumi.all([out.nameServers, out.peeringConnectionIds, out.endpointService, out.endpointServiceId]).apply(([nameServers, peerings, endpointService, endpointServiceId]) => {
        const actions = [
            `Delegate ${config.ingress.domain} to ${nameServers.join(", ")} in its parent zone: the gateway certificate (DNS-01) cannot issue, and clients cannot resolve the hostname, until it is.`,
            `Publish the tailnetDnsRecords output (A records to the agents' 100.x addresses) in ${config.tailscale.domain}, so the published tailnet names resolve; MagicDNS device names work without it.`,
            `The tailnet policy must let the provider's OAuth client own ${config.tailscale.tags.join(", ")} (tagOwners), or minting the agents' keys fails ("requested tags … are invalid or not permitted").`,
        ];
        config.network.peering.forEach((p, i) => {
            if (p.ownerId !== undefined || p.region !== undefined) {
                actions.push(`Accept VPC peering ${peerings[i]} in account ${p.ownerId ?? "(this account)"}${p.region ? ` (${p.region})` : ""} and route ${config.network.vpcCidr} to it on the customer's side; until then ${p.cidr} is unreachable.`);
            }
        });
        if (config.ingress.mode === "privatelink") {
            actions.push(`Give the customer the endpoint service ${endpointService}: they create an interface endpoint to it in their VPC (private DNS on: ${config.ingress.domain ? `clickhouse.${config.ingress.domain}` : "the client hostname"} then resolves to it)${config.ingress.privateLink?.acceptanceRequired ? `, and you accept it: aws ec2 accept-vpc-endpoint-connections --service-id ${endpointServiceId} --vpc-endpoint-ids <id>` : ""}. Once the zone is delegated, start the private DNS name's verification (the TXT record is already in the zone): aws ec2 start-vpc-endpoint-service-private-dns-verification --service-id ${endpointServiceId}; consumers can use the name when its state is verified. Create the endpoints in the NLB's Availability Zones (the stack's private subnets).`);
        }
        if (config.controlPlane.access === "bootstrap") {
            actions.push("Phase bootstrap: once this up has succeeded, set byoc:controlPlane.phase: switchover and run up again (the portal does both): the provider moves to the tailnet while the public endpoint stays open.");
        }
        if (config.controlPlane.access === "switchover") {
            actions.push("Phase switchover: once this up has succeeded (the tailnet path works), set byoc:controlPlane.phase: tailnet and run up again (the portal does both) to close the public API endpoint.");
        }
        if (config.controlPlane.access === "break-glass") {
            actions.push("Break-glass is open: the public API endpoint accepts the management CIDRs. Set byoc:controlPlane.breakGlass: false and run up to close it.");
        }
        return actions;
    });
}

/** Every place the data plane encrypts with KMS, and with which key: the customer's own, or one the stack created. */
function encryptionKeys(config: StackConfig, keys: { secrets: pulumi.Output<string>; volumes: pulumi.Output<string>; thanos: pulumi.Output<string>; flowLogs: pulumi.Output<string> }) {
    return pulumi.all([keys.secrets, keys.volumes, keys.thanos, keys.flowLogs]).apply(([secrets, volumes, thanos, flowLogs]) => ({
        customerManaged: config.encryption.kmsKeyArn !== undefined,
        uses: [
            { what: "EKS Secrets (envelope encryption)", key: secrets },
            { what: "EKS control-plane log group", key: volumes },
            { what: "node root volumes (launch template)", key: volumes },
            { what: "log and metric volumes (StorageClass byoc-gp3-encrypted)", key: volumes },
            { what: "Thanos metrics bucket (SSE-KMS)", key: thanos },
            { what: "VPC flow logs (log group)", key: flowLogs },
        ],
    }));
}

const secretOrUndefined = (v: string | undefined) => (v === undefined ? undefined : pulumi.secret(v));

function resolveFlows(flows: NetworkFlow[]): pulumi.Output<ResolvedFlow[]> {
    return pulumi.all(flows.map((f) => pulumi.output(f.restrictedBy).apply((restrictedBy): ResolvedFlow => ({ ...f, restrictedBy }))));
}

export = dataPlane;
