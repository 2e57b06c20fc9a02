// Client query ingress: an Istio ingress gateway behind an AWS NLB (AWS Load Balancer Controller), TLS terminated
// at Istio with a Let's Encrypt wildcard certificate from cert-manager, and the IP allow list enforced twice: on
// the NLB (loadBalancerSourceRanges → its security group) and at the gateway (AuthorizationPolicy).
// `public` mode is an internet-facing NLB; `private` an internal one reached over VPC peering.
//
// The object specs come from components/render/ingress.ts; this file wires them to the engine, adds the AWS
// side (Pod Identity roles, the Route53 zone for DNS-01 and the client hostname) and the ordering between them.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import { ByocComponent, RELEASE_TIMEOUT_SECONDS, roleTags } from "./conventions";
import { NetworkFlow } from "./flows";
import * as r from "./render/ingress";
import { podIdentityTrustPolicy } from "./render/iam";

export interface IngressGatewayArgs {
    /** byoc:customer.id and byoc:environment: tags on what the Load Balancer Controller creates outside Pulumi. */
    customer: string;
    environment: "dev" | "prod";
    mode: r.IngressMode;
    /** The client CIDRs; never empty. Plain values: the exposure is decided (and checked) at construction. */
    ipAllowList: string[];
    /** CIDRs of the peered customer VPCs; added to the source ranges in private mode. */
    peeredCidrs?: string[];
    domain: string;
    acmeEmail: string;
    acmeServer: r.AcmeServer;
    clusterName: pulumi.Input<string>;
    vpcId: pulumi.Input<string>;
    region: string;
    /** First label of the client hostname (`<hostLabel>.<domain>`); default "clickhouse". */
    hostLabel?: string;
    clickhouse?: r.ClickHouseTarget;
    /** Gateway pods (HPA bounds); defaults by environment. */
    gatewayReplicas?: { min: number; max: number };
    /** mode privatelink: who may connect (byoc:ingress.privateLink) and where the NLB goes (the private subnets). */
    privateLink?: { allowedPrincipals: string[]; acceptanceRequired: boolean };
    privateSubnetIds?: pulumi.Input<pulumi.Input<string>[]>;
    vpcCidr?: string;
    /** The cluster security group the pods' ENIs carry (DataPlaneCluster.clusterSecurityGroupId). */
    clusterSecurityGroupId?: pulumi.Input<string>;
}


const DEFAULTS = {
    dev: { gateway: { min: 2, max: 4 }, controllers: 1 },
    prod: { gateway: { min: 3, max: 10 }, controllers: 2 },
};

export class IngressGateway extends ByocComponent {
    /** The name clients use (`clickhouse.<domain>`), public or private by mode. */
    readonly hostname: pulumi.Output<string>;
    readonly scheme: "internet-facing" | "internal";
    /** loadBalancerSourceRanges and remoteIpBlocks: the allow list, plus the peered CIDRs in private mode. */
    readonly allowList: string[];
    /** The NLB's DNS name, as the controller reports it in the Service status. */
    readonly loadBalancerHostname: pulumi.Output<string>;
    readonly zoneId: pulumi.Output<string>;
    /** Name servers of the `<domain>` zone: the parent zone must delegate to them (DNS-01 and the client name need it). */
    readonly nameServers: pulumi.Output<string[]>;
    readonly flows: NetworkFlow[];
    /** mode privatelink: what the customer's interface endpoint connects to. */
    readonly endpointService?: { serviceName: pulumi.Output<string>; id: pulumi.Output<string>; privateDnsName: string };

    constructor(name: string, args: IngressGatewayArgs, opts?: pulumi.ComponentResourceOptions) {
        super("IngressGateway", name, r.ROLE, opts);
        const settings: r.IngressSettings = {
            environment: args.environment,
            mode: args.mode,
            ipAllowList: args.ipAllowList,
            peeredCidrs: args.peeredCidrs ?? [],
            domain: args.domain,
            acmeEmail: args.acmeEmail,
            acmeServer: args.acmeServer,
        };
        const problems = r.settingsProblems(settings);
        if (args.mode === "privatelink") {
            if (!args.privateLink || args.privateLink.allowedPrincipals.length === 0) problems.push({ arg: "ingress.privateLink.allowedPrincipals", value: args.privateLink?.allowedPrincipals, message: "is required in mode privatelink: the endpoint service admits exactly these principals" });
            if (args.privateLink?.allowedPrincipals.some((p) => p.trim() === "*")) problems.push({ arg: "ingress.privateLink.allowedPrincipals", value: args.privateLink.allowedPrincipals, message: "must not contain *: any AWS account could connect an endpoint" });
            if (!args.privateSubnetIds || !args.vpcCidr || !args.clusterSecurityGroupId) problems.push({ arg: "privateSubnetIds", value: undefined, message: "vpcCidr and clusterSecurityGroupId are required in mode privatelink (the NLB goes into the private subnets and reaches the pods)" });
        }
        if (problems.length > 0) {
            const lines = problems.map((p) => `  ${p.arg} = ${JSON.stringify(p.value)}: ${p.message}`);
            throw new pulumi.ResourceError(`IngressGateway ${name}: invalid arguments:\n${lines.join("\n")}`, this);
        }
        const defaults = DEFAULTS[args.environment];
        const replicas = args.gatewayReplicas ?? defaults.gateway;
        const sourceRanges = r.effectiveAllowList(settings);
        const parent = { parent: this };
        const after = (...deps: pulumi.Resource[]): pulumi.CustomResourceOptions => ({ parent: this, dependsOn: deps });

        const account = aws.getCallerIdentityOutput({}, parent).accountId;
        const partition = aws.getPartitionOutput({}, parent).partition;

        const [istioNs, gatewayNs, certManagerNs] = r.namespaces().map(
            (ns) => new k8s.core.v1.Namespace(`${name}-${ns.metadata!.name}`, ns, parent),
        );

        // Every chart is pinned in r.CHARTS; the Release resource installs it inside the provider, so nothing is
        // downloaded while the program runs.
        // Helm waits for the release's pods (the provider already waits for the nodes); say how long explicitly.
        const release = (chart: keyof typeof r.CHARTS, releaseName: string, namespace: string, values: pulumi.Input<object>, opts: pulumi.CustomResourceOptions) =>
            new k8s.helm.v3.Release(`${name}-${releaseName}`, {
                name: releaseName,
                namespace,
                chart: r.CHARTS[chart].chart,
                version: r.CHARTS[chart].version,
                repositoryOpts: { repo: r.CHARTS[chart].repo },
                values,
                timeout: RELEASE_TIMEOUT_SECONDS,
            }, opts);

        // --- AWS Load Balancer Controller: turns the gateway Service into an NLB.
        const lbcRole = this.podIdentityRole(`${name}-lbc`, args.clusterName, r.NS.loadBalancerController, r.LBC_SERVICE_ACCOUNT, account,
            pulumi.all([partition, account, args.clusterName, args.vpcId]).apply(([p, acct, cluster, vpcId]) =>
                JSON.stringify(r.loadBalancerControllerPolicy({ partition: p, region: args.region, account: acct, clusterName: cluster, vpcId })),
            ));
        const lbc = release("loadBalancerController", "aws-load-balancer-controller", r.NS.loadBalancerController, r.loadBalancerControllerValues({
            clusterName: args.clusterName,
            vpcId: args.vpcId,
            region: args.region,
            replicas: defaults.controllers,
            defaultTags: { "byoc:customer": args.customer, "byoc:environment": args.environment },
        }), after(...lbcRole)); // credentials are injected at pod start: the association must exist first

        // --- Istio control plane.
        const istioBase = release("istioBase", "istio-base", r.NS.istio, r.istioBaseValues(), after(istioNs));
        const istiod = release("istiod", "istiod", r.NS.istio, r.istiodValues({ replicas: defaults.controllers }), after(istioBase));

        // --- DNS: the zone cert-manager answers DNS-01 challenges in, and where the client hostname lives.
        const zone = new aws.route53.Zone(`${name}-zone`, {
            name: args.domain,
            comment: `ClickHouse ingress of ${args.customer} (${args.environment}): client hostname and ACME DNS-01 challenges`,
            tags: roleTags(r.ROLE),
        }, parent);

        // --- cert-manager, with a Route53 role limited to the challenge records of that zone.
        const certManagerRole = this.podIdentityRole(`${name}-cert-manager`, args.clusterName, r.NS.certManager, r.CERT_MANAGER_SERVICE_ACCOUNT, account,
            pulumi.all([partition, zone.zoneId]).apply(([p, zoneId]) => JSON.stringify(r.route53SolverPolicy({ partition: p, hostedZoneId: zoneId, domain: args.domain }))));
        const certManager = release("certManager", "cert-manager", r.NS.certManager, r.certManagerValues({ replicas: defaults.controllers }), after(certManagerNs, ...certManagerRole));

        const issuer = r.clusterIssuer({ server: args.acmeServer, email: args.acmeEmail, domain: args.domain, region: args.region, hostedZoneId: zone.zoneId });
        const clusterIssuer = new k8s.apiextensions.CustomResource(`${name}-issuer`, issuer, after(certManager));
        new k8s.apiextensions.CustomResource(`${name}-certificate`, r.gatewayCertificate({ domain: args.domain, server: args.acmeServer }), after(certManager, clusterIssuer, gatewayNs));

        // --- The gateway itself, as explicit objects so its exposure is visible to the policy pack.
        const gatewaySa = new k8s.core.v1.ServiceAccount(`${name}-gateway`, r.gatewayServiceAccount(), after(gatewayNs));
        const sdsRole = new k8s.rbac.v1.Role(`${name}-gateway-sds`, r.gatewaySecretReaderRole(), after(gatewayNs));
        const sdsBinding = new k8s.rbac.v1.RoleBinding(`${name}-gateway-sds`, r.gatewaySecretReaderBinding(), after(sdsRole, gatewaySa));
        // istiod must be up (its webhook fills in the `auto` image of the gateway pods, failurePolicy Fail), and the
        // Load Balancer Controller too (its pod webhook injects the readiness gate, failurePolicy Ignore: a pod
        // created before it runs would silently go without).
        const deployment = new k8s.apps.v1.Deployment(`${name}-gateway`, r.gatewayDeployment(replicas, args.mode === "privatelink") as k8s.apps.v1.DeploymentArgs, {
            ...after(gatewayNs, istiod, lbc, sdsBinding),
            customTimeouts: { create: "15m", update: "15m" },
        });
        new k8s.policy.v1.PodDisruptionBudget(`${name}-gateway`, r.gatewayPodDisruptionBudget(), after(gatewayNs));
        new k8s.autoscaling.v2.HorizontalPodAutoscaler(`${name}-gateway`, r.gatewayAutoscaler(replicas) as k8s.autoscaling.v2.HorizontalPodAutoscalerArgs, after(deployment));
        const service = new k8s.core.v1.Service(`${name}-gateway`, r.gatewayService({
            mode: args.mode,
            sourceRanges,
            lbTags: { "byoc:component": "IngressGateway", "byoc:role": r.ROLE },
        }) as k8s.core.v1.ServiceArgs, after(gatewayNs, lbc, deployment)); // the controller's webhook must see the Service

        const crdsReady = [istioBase, istiod, gatewayNs];
        new k8s.apiextensions.CustomResource(`${name}-gateway`, r.istioGateway(args.domain), after(...crdsReady));
        const hostname = r.hostnameFor(args.domain, args.hostLabel);
        new k8s.apiextensions.CustomResource(`${name}-clickhouse`, r.clickhouseVirtualService({ hostname, clickhouse: args.clickhouse ?? r.DEFAULT_CLICKHOUSE }), after(...crdsReady));
        new k8s.apiextensions.CustomResource(`${name}-allow-list`, r.gatewayAuthorizationPolicy(sourceRanges), after(...crdsReady));

        // `*.<domain>` → the NLB. In private mode the name is public but resolves to the internal NLB's private
        // addresses, reachable only over the peering.
        let lbHostname: pulumi.Output<string>;
        if (args.mode === "privatelink") {
            const pl = this.createPrivateLink(name, args, { service, lbc, zoneId: zone.zoneId, hostname });
            lbHostname = pl.nlbDnsName;
            this.endpointService = pl.endpointService;
        } else {
            lbHostname = service.status.apply((s) => s?.loadBalancer?.ingress?.[0]?.hostname ?? "");
            new aws.route53.Record(`${name}-wildcard`, { zoneId: zone.zoneId, name: r.wildcardFor(args.domain), type: "CNAME", ttl: 60, records: [lbHostname] }, parent);
        }

        this.hostname = pulumi.output(hostname);
        this.scheme = r.schemeFor(args.mode);
        this.allowList = sourceRanges;
        this.loadBalancerHostname = lbHostname;
        this.zoneId = zone.zoneId;
        this.nameServers = zone.nameServers;
        this.flows = [{
            flow: "Client queries → NLB → Istio → ClickHouse",
            direction: "inbound",
            // PrivateLink is a private connection (the source document's "Private" boundary).
            exposure: args.mode === "public" ? "public" : "private",
            restrictedBy: r.ingressFlowRestriction({ mode: args.mode, sourceRanges, peeredCidrs: settings.peeredCidrs, domain: args.domain, privateLink: args.privateLink }),
            component: "IngressGateway",
        }];
        this.registerOutputs({
            hostname: this.hostname,
            scheme: this.scheme,
            allowList: this.allowList,
            loadBalancerHostname: this.loadBalancerHostname,
            zoneId: this.zoneId,
            nameServers: this.nameServers,
        });
    }

    /**
     * PrivateLink: an internal NLB that Pulumi owns (its ARN is what the endpoint service needs, known in the graph
     * rather than looked up after the controller made one), one IP target group and TCP listener per TLS port, the
     * controller's TargetGroupBindings registering the gateway pods, and the endpoint service admitting exactly the
     * configured principals, each endpoint accepted. PrivateLink hides the client's address behind the NLB, so the
     * target groups speak proxy protocol v2 and the gateway reads it: the allow list still applies at Istio.
     */
    private createPrivateLink(name: string, args: IngressGatewayArgs, c: { service: k8s.core.v1.Service; lbc: pulumi.Resource; zoneId: pulumi.Output<string>; hostname: string }) {
        const parent = { parent: this };
        const pl = args.privateLink!;
        // Only the target groups carry the controller's cluster tag (its RegisterTargets condition): on the NLB it would
        // let the controller delete or reconfigure it (ManageOwnLoadBalancers).
        const tgTags = { ...roleTags(r.ROLE), [r.CLUSTER_TAG]: pulumi.output(args.clusterName) };
        // No inbound rule: with PrivateLink rule enforcement off, endpoint traffic is admitted and nothing else is.
        const nlbSg = new aws.ec2.SecurityGroup(`${name}-privatelink-nlb`, {
            vpcId: args.vpcId,
            description: "PrivateLink NLB of the ClickHouse ingress: no inbound rules (endpoint traffic only); egress to the gateway pods",
            egress: [...r.PRIVATELINK_PORTS].map((port) => ({ protocol: "tcp", fromPort: port, toPort: port, cidrBlocks: [args.vpcCidr!], description: `to the gateway pods on ${port}` })),
            tags: roleTags(r.ROLE),
        }, parent);
        const nlb = new aws.lb.LoadBalancer(`${name}-privatelink`, {
            loadBalancerType: "network",
            internal: true,
            subnets: args.privateSubnetIds!,
            securityGroups: [nlbSg.id],
            enforceSecurityGroupInboundRulesOnPrivateLinkTraffic: "off",
            enableCrossZoneLoadBalancing: true,
            tags: roleTags(r.ROLE),
        }, parent);
        const bindings: pulumi.Resource[] = [];
        for (const port of r.PRIVATELINK_PORTS) {
            const tg = new aws.lb.TargetGroup(`${name}-privatelink-${port}`, {
                port,
                protocol: "TCP",
                targetType: "ip",
                vpcId: args.vpcId,
                proxyProtocolV2: true,
                deregistrationDelay: 30,
                // TCP on the traffic port, not HTTP /healthz/ready: with proxy protocol on, the NLB sends a PROXY header
                // on health checks too, and Istio 1.26's status port does not read it (400; istio/istio#39868, fixed in
                // 1.27 behind ENVOY_STATUS_PORT_ENABLE_PROXY_PROTOCOL). A connect proves the listener itself is up.
                healthCheck: { protocol: "TCP", port: "traffic-port" },
                tags: tgTags,
            }, parent);
            new aws.lb.Listener(`${name}-privatelink-${port}`, {
                loadBalancerArn: nlb.arn,
                port,
                protocol: "TCP",
                defaultActions: [{ type: "forward", targetGroupArn: tg.arn }],
                tags: roleTags(r.ROLE),
            }, parent);
            bindings.push(new k8s.apiextensions.CustomResource(`${name}-privatelink-${port}`,
                r.targetGroupBinding({ port, targetGroupArn: tg.arn, vpcId: pulumi.output(args.vpcId) }), { parent: this, dependsOn: [c.lbc, c.service] }));
        }
        // The pods (on the cluster security group) admit the NLB on the TLS ports (health checks use them too). Pulumi owns these
        // rules rather than the binding's `networking`, so they are visible to the policy pack and need no
        // controller write on the nodes' security group.
        r.PRIVATELINK_PORTS.forEach((port) => new aws.vpc.SecurityGroupIngressRule(`${name}-privatelink-pods-${port}`, {
            securityGroupId: args.clusterSecurityGroupId!,
            referencedSecurityGroupId: nlbSg.id,
            ipProtocol: "tcp",
            fromPort: port,
            toPort: port,
            description: `PrivateLink NLB to the ingress gateway pods on ${port}`,
            tags: roleTags(r.ROLE),
        }, parent));
        const service = new aws.ec2.VpcEndpointService(`${name}-privatelink`, {
            acceptanceRequired: pl.acceptanceRequired,
            networkLoadBalancerArns: [nlb.arn],
            allowedPrincipals: pl.allowedPrincipals,
            // Consumers with private DNS on their endpoint resolve the client hostname to it; proven by a TXT record.
            privateDnsName: c.hostname,
            supportedIpAddressTypes: ["ipv4"],
            tags: roleTags(r.ROLE),
        }, { parent: this, dependsOn: bindings });
        // The private DNS name is proven with a public TXT record (privateDnsNameConfigurations: name + value) in the
        // stack's zone; verification is started here but not awaited: it succeeds once the zone is delegated.
        const verification = service.privateDnsNameConfigurations.apply((v) => v?.[0]);
        const txt = new aws.route53.Record(`${name}-privatelink-dns-verification`, {
            zoneId: c.zoneId,
            // AWS's documented form: <verification name>.<private DNS name> (VPC "Manage DNS names", TXT records).
            name: verification.apply((v) => v?.name ?? "_byoc-verification").apply((n) => (n.endsWith(c.hostname) ? n : `${n}.${c.hostname}`)),
            type: "TXT",
            ttl: 300,
            records: [verification.apply((v) => v?.value ?? "")],
        }, parent);
        new aws.vpc.EndpointServicePrivateDnsVerification(`${name}-privatelink-dns`, { serviceId: service.id, waitForVerification: false }, { parent: this, dependsOn: [txt] });
        return { nlbDnsName: nlb.dnsName, endpointService: { serviceName: service.serviceName, id: service.id, privateDnsName: c.hostname } };
    }

    /** A role for one service account through EKS Pod Identity, its inline policy and the association. */
    private podIdentityRole(
        name: string,
        clusterName: pulumi.Input<string>,
        namespace: string,
        serviceAccount: string,
        account: pulumi.Output<string>,
        policy: pulumi.Output<string>,
    ): pulumi.Resource[] {
        const parent = { parent: this };
        const role = new aws.iam.Role(name, {
            description: `EKS Pod Identity role of ${namespace}/${serviceAccount}`,
            assumeRolePolicy: pulumi.all([account, clusterName]).apply(([acct, cluster]) =>
                JSON.stringify(podIdentityTrustPolicy({ account: acct, session: { clusterName: cluster, namespace, serviceAccount } })),
            ),
            tags: roleTags(r.ROLE),
        }, parent);
        const rolePolicy = new aws.iam.RolePolicy(name, { role: role.id, policy }, parent);
        const association = new aws.eks.PodIdentityAssociation(name, { clusterName, namespace, serviceAccount, roleArn: role.arn, tags: roleTags(r.ROLE) }, parent);
        return [rolePolicy, association];
    }
}
