import { strict as assert } from "assert";
import { runComponent, runStack, Stack, stackRaw, unsecret } from "../harness";
import { DataPlaneCluster } from "../../components/DataPlaneCluster";
import { runProgram } from "../../preview/runtime";
import { registerStackConventions } from "../../components/conventions";

const EKS = "eks:index:Cluster";

describe("DataPlaneCluster (EKS)", () => {
    let dev: Stack;
    let prod: Stack;
    before(async () => {
        dev = await runStack("dev");
        prod = await runStack("prod");
    });

    it("restricts a public API endpoint to the management CIDRs (dev)", () => {
        const eks = dev.one(EKS).inputs;
        assert.equal(eks.endpointPublicAccess, true);
        assert.equal(eks.endpointPrivateAccess, true);
        assert.deepEqual(eks.publicAccessCidrs, ["203.0.113.0/28", "198.51.100.16/28"]);
        assert.equal(dev.outputs.clusterEndpointAccess, "public-restricted");
    });

    describe("a private API endpoint, phase by phase (byoc:controlPlane.phase, breakGlass)", () => {
        const prodWith = (controlPlane: Record<string, unknown>, tailscale: Record<string, unknown> = {}) => {
            const raw = stackRaw("prod");
            return runStack("prod", {
                "byoc:controlPlane": { ...(raw["byoc:controlPlane"] as object), ...controlPlane },
                "byoc:tailscale": { ...(raw["byoc:tailscale"] as object), managementTag: "tag:byoc-management", ...tailscale },
            });
        };
        // A secret since it carries the deploy role's ExternalId: unwrapped as the engine would.
        const kubeconfigOf = (stack: Stack) => JSON.parse(unsecret(stack.one("pulumi:providers:kubernetes").inputs.kubeconfig));
        let switchover: Stack;
        let tailnet: Stack;
        let breakGlass: Stack;
        before(async () => {
            switchover = await prodWith({ phase: "switchover" });
            tailnet = await prodWith({ phase: "tailnet" });
            breakGlass = await prodWith({ phase: "tailnet", breakGlass: true });
        });

        it("bootstrap (the first up of Pulumi.prod.yaml): the restricted public endpoint is open and the provider uses it", () => {
            const eks = prod.one(EKS).inputs;
            assert.equal(eks.endpointPublicAccess, true);
            assert.deepEqual(eks.publicAccessCidrs, ["203.0.113.0/28", "198.51.100.16/28"]);
            assert.match(kubeconfigOf(prod).clusters[0].cluster.server, /\.eks\.amazonaws\.com$/);
            assert.equal(prod.outputs.clusterApiAccess, "bootstrap");
        });

        it("tailnet: no public endpoint; the provider goes to the kubernetes-api device, verifies the tailnet CA and the endpoint's name, and uses EKS tokens", () => {
            const eks = tailnet.one(EKS).inputs;
            assert.equal(eks.endpointPublicAccess, false);
            assert.equal(eks.publicAccessCidrs, undefined);
            assert.equal(eks.endpointPrivateAccess, true);
            const cluster = kubeconfigOf(tailnet).clusters[0].cluster;
            assert.equal(cluster.server, "https://k8s-acme-us-east-1");
            assert.equal(cluster["tls-server-name"], "k8s.acme.us-east-1.aws.byoc.example-prd.com");
            const ca = tailnet.one("tls:index/selfSignedCert:SelfSignedCert", "byoc-acme-tailnet-ca").outputs.certPem;
            assert.equal(Buffer.from(cluster["certificate-authority-data"], "base64").toString(), ca);
            // Signed as the customer's deploy role (prod deploys through it; render/apiAccess.ts eksTokenExec).
            const exec = kubeconfigOf(tailnet).users[0].user.exec;
            assert.equal(exec.command, "sh");
            assert.deepEqual(exec.args.slice(3), ["arn:aws:iam::111122223333:role/byoc-bootstrap-acme-deploy", "offline-preview-placeholder-external-id", "byoc-acme-prod", "us-east-1"]);
            assert.equal(tailnet.outputs.clusterApiAccess, "tailnet");
            assert.equal(tailnet.outputs.clusterEndpointAccess, "private");
            assert.equal(JSON.parse(tailnet.outputs.kubeconfig).clusters[0].cluster.server, "https://k8s-acme-us-east-1", "the exported kubeconfig is the one management uses");
        });

        it("switchover: the provider already goes through the tailnet while the restricted public endpoint stays open (a broken tailnet path closes nothing)", () => {
            const eks = switchover.one(EKS).inputs;
            assert.equal(eks.endpointPublicAccess, true);
            assert.deepEqual(eks.publicAccessCidrs, ["203.0.113.0/28", "198.51.100.16/28"]);
            assert.deepEqual(kubeconfigOf(switchover), kubeconfigOf(tailnet), "the same tailnet kubeconfig as the steady state");
            assert.equal(switchover.outputs.clusterApiAccess, "switchover");
        });

        it("break-glass reopens the restricted public endpoint and points the provider back at it", () => {
            const eks = breakGlass.one(EKS).inputs;
            assert.equal(eks.endpointPublicAccess, true);
            assert.deepEqual(eks.publicAccessCidrs, ["203.0.113.0/28", "198.51.100.16/28"]);
            assert.match(kubeconfigOf(breakGlass).clusters[0].cluster.server, /\.eks\.amazonaws\.com$/);
            assert.equal(breakGlass.outputs.clusterApiAccess, "break-glass");
        });

        it("switching phases updates the provider in place: the same clusterIdentifier in every phase", () => {
            const ids = [prod, switchover, tailnet, breakGlass].map((s) => s.one("pulumi:providers:kubernetes").inputs.clusterIdentifier);
            assert.deepEqual(ids, ["byoc-acme-prod", "byoc-acme-prod", "byoc-acme-prod", "byoc-acme-prod"]);
        });

        it("the flow table names the phase", () => {
            const row = (s: Stack) => (s.outputs.networkFlows as { flow: string; exposure: string; restrictedBy: string }[]).find((f) => f.flow === "Management → EKS API")!;
            assert.match(row(prod).restrictedBy, /^phase bootstrap: publicAccessCidrs = 203\.0\.113\.0\/28/);
            assert.equal(row(tailnet).exposure, "private");
            assert.match(row(switchover).restrictedBy, /^phase switchover: publicAccessCidrs = .* still open/);
            assert.match(row(tailnet).restrictedBy, /^phase tailnet: private endpoint only/);
            assert.match(row(breakGlass).restrictedBy, /^phase break-glass/);
        });
    });

    it("can turn prod's endpoint public-but-restricted from config", async () => {
        const stack = await runStack("prod", { "byoc:controlPlane": { managementCidrs: ["203.0.113.0/28"] } });
        assert.equal(stack.one(EKS).inputs.endpointPublicAccess, true);
        assert.deepEqual(stack.one(EKS).inputs.publicAccessCidrs, ["203.0.113.0/28"]);
        assert.equal(stack.outputs.clusterApiAccess, "public");
    });

    it("everything that names the cluster waits for it; nodes wait for their role; add-ons and the provider wait for the nodes", () => {
        const eksUrn = prod.one(EKS).urn;
        const group = prod.one("aws:eks/nodeGroup:NodeGroup");
        assert.deepEqual(group.propertyDependencies.clusterName, [eksUrn]);
        for (const a of prod.ofType("aws:eks/addon:Addon")) {
            assert.deepEqual(a.propertyDependencies.clusterName, [eksUrn], a.name);
            assert.ok(a.dependencies.includes(group.urn), `${a.name} waits for the nodes`);
        }
        for (const r of [...prod.ofType("aws:eks/podIdentityAssociation:PodIdentityAssociation"), ...prod.ofType("aws:eks/accessEntry:AccessEntry")]) {
            assert.deepEqual(r.propertyDependencies.clusterName, [eksUrn], r.name);
        }
        const provider = prod.one("pulumi:providers:kubernetes");
        const agent = prod.ofType("aws:eks/addon:Addon").find((a) => a.inputs.addonName === "eks-pod-identity-agent")!;
        assert.ok(provider.dependencies.includes(group.urn) && provider.dependencies.includes(agent.urn));
    });

    for (const env of ["dev", "prod"]) {
        it(`places the cluster in the private subnets only, with KMS secrets encryption and control-plane logs (${env})`, () => {
            const stack = env === "dev" ? dev : prod;
            const eks = stack.one(EKS).inputs;
            const privateIds = stack.ofType("aws:ec2/subnet:Subnet").filter((s) => s.inputs.tags["byoc:tier"] === "private").map((s) => s.id);
            assert.deepEqual([...eks.privateSubnetIds].sort(), privateIds.sort());
            assert.equal(eks.publicSubnetIds, undefined);
            assert.equal(eks.vpcId, stack.one("aws:ec2/vpc:Vpc").id);
            const key = stack.ofType("aws:kms/key:Key").find((k) => k.outputs.arn === eks.encryptionConfigKeyArn);
            assert.ok(key, "secrets are envelope-encrypted with a KMS key of this stack");
            assert.equal(key!.inputs.enableKeyRotation, true);
            assert.deepEqual(eks.enabledClusterLogTypes, ["api", "audit", "authenticator"]);
            assert.equal(eks.authenticationMode, "API");
            assert.equal(eks.skipDefaultNodeGroup, true);
            assert.equal(eks.nodeAssociatePublicIpAddress, undefined, "only affects pulumi-eks' own node groups, of which there are none");
            assert.equal(eks.instanceRoles, undefined, "EKS creates the managed node group's access entry itself");
            assert.equal(eks.kubernetesServiceIpAddressRange, "172.20.0.0/16");
            assert.equal(eks.skipDefaultSecurityGroups, true, "no unused pulumi-eks security groups; nodes use the EKS cluster security group");
            assert.equal(eks.version, "1.33");
            assert.equal(eks.vpcCniOptions.enableNetworkPolicy, true, "NetworkPolicies are enforced");
            const ebs = stack.ofType("aws:eks/addon:Addon").find((a) => a.inputs.addonName === "aws-ebs-csi-driver");
            assert.equal(ebs?.inputs.podIdentityAssociations[0].serviceAccount, "ebs-csi-controller-sa");
            const ebsRole = stack.ofType("aws:iam/role:Role").find((r) => r.outputs.arn === ebs?.inputs.podIdentityAssociations[0].roleArn)!;
            assert.equal(JSON.parse(ebsRole.inputs.assumeRolePolicy).Statement[0].Condition.StringEquals["aws:RequestTag/kubernetes-service-account"], "ebs-csi-controller-sa");
            assert.deepEqual(stack.ofType("aws:eks/addon:Addon").map((a) => a.inputs.addonName).sort(), ["aws-ebs-csi-driver", "coredns", "eks-pod-identity-agent", "metrics-server"]);
        });

        it(`runs managed nodes in private subnets without public IPs, IMDSv2 only, encrypted volumes (${env})`, () => {
            const stack = env === "dev" ? dev : prod;
            const group = stack.one("aws:eks/nodeGroup:NodeGroup").inputs;
            const privateIds = stack.ofType("aws:ec2/subnet:Subnet").filter((s) => s.inputs.tags["byoc:tier"] === "private").map((s) => s.id);
            assert.deepEqual([...group.subnetIds].sort(), privateIds.sort());
            const lt = stack.one("aws:ec2/launchTemplate:LaunchTemplate").inputs;
            assert.equal(lt.networkInterfaces, undefined, "no interface (EKS needs a deviceIndex on each) and no security group: EKS attaches the cluster security group");
            assert.equal(lt.vpcSecurityGroupIds, undefined);
            for (const s of stack.ofType("aws:ec2/subnet:Subnet").filter((x) => x.inputs.tags["byoc:tier"] === "private")) assert.equal(s.inputs.mapPublicIpOnLaunch, false);
            assert.equal(lt.metadataOptions.httpTokens, "required");
            assert.equal(lt.metadataOptions.httpPutResponseHopLimit, 1);
            assert.equal(lt.blockDeviceMappings[0].ebs.encrypted, "true");
            assert.equal(group.launchTemplate.id, stack.one("aws:ec2/launchTemplate:LaunchTemplate").id);
        });
    }

    it("exposes a Kubernetes provider built from the cluster's kubeconfig", () => {
        const provider = dev.one("pulumi:providers:kubernetes");
        const kubeconfig = JSON.parse(provider.inputs.kubeconfig);
        assert.equal(kubeconfig.kind, "Config");
        assert.match(kubeconfig.clusters[0].cluster.server, /^https:\/\/.+\.eks\.amazonaws\.com$/);
        assert.deepEqual(kubeconfig.users[0].user.exec.args.slice(0, 2), ["eks", "get-token"]);
    });

    it("routes component method calls to the mocks (eks:index:Cluster/getKubeconfig)", async () => {
        const eks = await import("@pulumi/eks");
        let kubeconfig: string | undefined;
        await runComponent(() => {
            const cluster = new eks.Cluster("c", { skipDefaultNodeGroup: true });
            cluster.getKubeconfig({ profileName: "byoc" }).apply((k) => (kubeconfig = k.result));
        });
        assert.equal(JSON.parse(kubeconfig!).kind, "Config");
    });

    it("refuses a world-open management CIDR and an empty list for a public endpoint", async () => {
        const base = { clusterName: "c", region: "us-east-1", serviceCidr: "172.20.0.0/16", vpcId: "vpc-1", privateSubnetIds: ["subnet-1"], nodeInstanceType: "m6i.large", nodeCount: { min: 1, desired: 1, max: 1 } };
        await assert.rejects(runComponent(() => new DataPlaneCluster("c", { ...base, managementCidrs: ["0.0.0.0/0"], apiAccess: "public" })), /managementCidrs contains 0\.0\.0\.0\/0/);
        await assert.rejects(runComponent(() => new DataPlaneCluster("c", { ...base, managementCidrs: [], apiAccess: "public" })), /managementCidrs is empty/);
        await assert.rejects(runComponent(() => new DataPlaneCluster("c", { ...base, managementCidrs: ["0.0.0.0/1", "128.0.0.0/1"], apiAccess: "public" })), /managementCidrs contains 0\.0\.0\.0\/1/);
    });

    it("names the partition of its region in the AWS-managed policy ARNs (aws-us-gov: arn:aws-us-gov:iam::aws:policy/…)", async () => {
        const args = { clusterName: "c", region: "us-gov-west-1", serviceCidr: "172.20.0.0/16", vpcId: "vpc-1", privateSubnetIds: ["subnet-1"], nodeInstanceType: "m6i.large", nodeCount: { min: 1, desired: 1, max: 1 }, managementCidrs: ["203.0.113.0/28"], apiAccess: "public" as const, deployRole: { roleArn: "arn:aws-us-gov:iam::111122223333:role/byoc-bootstrap-acme-deploy", externalId: "ext-0123456789abcdef" } };
        const run = await runProgram(() => {
            registerStackConventions({ customer: "acme", environment: "dev" });
            new DataPlaneCluster("c", args);
        }, { stack: "dev", config: {}, region: "us-gov-west-1" });
        const arns = run.resources.filter((r) => r.type === "aws:iam/rolePolicyAttachment:RolePolicyAttachment").map((r) => r.inputs.policyArn);
        assert.ok(arns.length >= 5, arns.join(", "));
        assert.deepEqual(arns.filter((a) => !a.startsWith("arn:aws-us-gov:iam::aws:policy/")), []);
        assert.ok(arns.includes("arn:aws-us-gov:iam::aws:policy/AmazonEKSClusterPolicy"), "the service role the program creates with a deploy role");
    });

    it("refuses a phase that goes through the tailnet (switchover as well as tailnet) without tailnetApi; not while suspended", async () => {
        const base = { clusterName: "c", region: "us-east-1", serviceCidr: "172.20.0.0/16", vpcId: "vpc-1", privateSubnetIds: ["subnet-1"], nodeInstanceType: "m6i.large", nodeCount: { min: 1, desired: 1, max: 1 }, managementCidrs: ["203.0.113.0/28"] };
        for (const apiAccess of ["switchover", "tailnet"] as const) {
            await assert.rejects(runComponent(() => new DataPlaneCluster("c", { ...base, apiAccess })), new RegExp(`apiAccess "${apiAccess}" needs tailnetApi`));
        }
        // Suspended, the provider uses the EKS endpoint whatever the phase: no tailnet endpoint is needed.
        await runComponent(() => new DataPlaneCluster("c", { ...base, apiAccess: "tailnet", vendorAccess: "suspended" }));
    });

    it("declares the management flow from its own arguments", () => {
        const flow = (s: Stack) => s.outputs.networkFlows.find((f: any) => f.flow === "Management → EKS API");
        assert.deepEqual({ ...flow(dev), component: undefined }, { flow: "Management → EKS API", direction: "inbound", exposure: "public", restrictedBy: "publicAccessCidrs = 203.0.113.0/28, 198.51.100.16/28", component: undefined });
        assert.equal(flow(prod).exposure, "public", "phase bootstrap: the restricted public endpoint is open");
    });
});
