import { strict as assert } from "assert";
import { runComponent, runStack, stackConfig, Stack } from "../harness";
import { IngressGateway, IngressGatewayArgs } from "../../components/IngressGateway";
import { RecordedResource } from "../../preview/runtime";
import { validateK8sObject } from "./render/ingress.spec";

const SERVICE = "kubernetes:core/v1:Service";
const RELEASE = "kubernetes:helm.sh/v3:Release";
const GATEWAY = "kubernetes:networking.istio.io/v1:Gateway";
const VIRTUAL_SERVICE = "kubernetes:networking.istio.io/v1:VirtualService";
const AUTHZ = "kubernetes:security.istio.io/v1:AuthorizationPolicy";
const PEERING = [{ vpcId: "vpc-0a1b2c3d4e5f67890", cidr: "172.31.0.0/16", ownerId: "444455556666" }];

/** Overrides that switch a stack file's ingress to `mode` (dev gets a peering for private mode). */
function overrides(stack: "dev" | "prod", mode: "public" | "private"): Record<string, unknown> {
    const base = stackConfig(stack);
    const out: Record<string, unknown> = { "byoc:ingress": { ...base.ingress, mode } };
    if (mode === "private" && base.network.peering.length === 0) {
        out["byoc:network"] = { vpcCidr: base.network.vpcCidr, azCount: base.network.azCount, natGateways: base.network.natGateways, peering: PEERING };
    }
    return out;
}

const ingressChildren = (s: Stack) => s.resources.filter((r) => r.urn.includes("byoc:index:IngressGateway$"));
/** The stack runs every component: look only at the IngressGateway's children. */
const ofType = (s: Stack, type: string) => ingressChildren(s).filter((r) => r.type === type);
function one(s: Stack, type: string, name?: string): RecordedResource {
    const found = ofType(s, type).filter((r) => name === undefined || r.name === name);
    assert.equal(found.length, 1, `expected one ${type}${name ? ` named ${name}` : ""} in IngressGateway, found ${found.map((r) => r.name).join(", ") || "none"}`);
    return found[0];
}
const k8sObjects = (s: Stack) => ingressChildren(s).filter((r) => r.type.startsWith("kubernetes:") && r.type !== RELEASE && r.custom);
const release = (s: Stack, name: string) => ofType(s, RELEASE).find((r) => r.inputs.name === name)!;
const dependsOn = (s: Stack, r: RecordedResource, other: RecordedResource) => assert.ok(r.dependencies.includes(other.urn), `${r.type} ${r.name} does not wait for ${other.type} ${other.name}`);

const componentArgs = (over: Partial<IngressGatewayArgs> = {}): IngressGatewayArgs => ({
    customer: "acme",
    environment: "prod",
    mode: "public",
    ipAllowList: ["192.0.2.0/24"],
    peeredCidrs: [],
    domain: "acme.byoc.example.com",
    acmeEmail: "platform@example.com",
    acmeServer: "production",
    clusterName: "byoc-acme-prod",
    vpcId: "vpc-0123456789abcdef0",
    region: "us-east-1",
    ...over,
});

describe("IngressGateway", () => {
    const runs = new Map<string, Stack>();
    const run = async (stack: "dev" | "prod", mode: "public" | "private") => {
        const key = `${stack}/${mode}`;
        if (!runs.has(key)) runs.set(key, await runStack(stack, overrides(stack, mode)));
        return runs.get(key)!;
    };

    for (const stack of ["dev", "prod"] as const) {
        for (const mode of ["public", "private"] as const) {
            const scheme = mode === "public" ? "internet-facing" : "internal";
            it(`${stack}, ${mode}: a ${scheme} NLB Service whose source ranges are the allow list${mode === "private" ? " plus the peered VPCs" : ""}`, async () => {
                const s = await run(stack, mode);
                const cfg = stackConfig(stack, overrides(stack, mode));
                const expected = [...cfg.ingress.ipAllowList, ...(mode === "private" ? cfg.network.peering.map((p) => p.cidr) : [])];
                const svc = one(s, SERVICE);
                assert.equal(svc.inputs.spec.type, "LoadBalancer");
                assert.equal(svc.inputs.spec.loadBalancerClass, "service.k8s.aws/nlb");
                const a = svc.inputs.metadata.annotations;
                assert.equal(a["service.beta.kubernetes.io/aws-load-balancer-type"], "external");
                assert.equal(a["service.beta.kubernetes.io/aws-load-balancer-nlb-target-type"], "ip");
                assert.equal(a["service.beta.kubernetes.io/aws-load-balancer-scheme"], scheme);
                assert.equal(a["service.beta.kubernetes.io/aws-load-balancer-target-group-attributes"], "preserve_client_ip.enabled=true");
                assert.deepEqual(svc.inputs.spec.loadBalancerSourceRanges, expected);

                assert.equal(s.outputs.ingressScheme, scheme);
                assert.deepEqual(s.outputs.ingressAllowList, expected);
                assert.equal(s.outputs.ingressHostname, `clickhouse.${cfg.ingress.domain}`);
                const flow = s.outputs.networkFlows.find((f: { flow: string }) => f.flow === "Client queries → NLB → Istio → ClickHouse");
                assert.equal(flow.direction, "inbound");
                assert.equal(flow.exposure, mode);
                assert.match(flow.restrictedBy, new RegExp(`loadBalancerSourceRanges = ${expected.join(", ").replace(/\./g, "\\.")}`));
                assert.equal(/internal NLB \+ VPC peering/.test(flow.restrictedBy), mode === "private");
            });

            it(`${stack}, ${mode}: no plain HTTP route, and an AuthorizationPolicy equal to the allow list`, async () => {
                const s = await run(stack, mode);
                const servers = one(s, GATEWAY).inputs.spec.servers as any[];
                for (const srv of servers) {
                    if (srv.port.protocol === "HTTP") assert.equal(srv.tls?.httpsRedirect, true, "port 80 only redirects");
                    else assert.deepEqual([srv.tls.mode, srv.tls.minProtocolVersion], ["SIMPLE", "TLSV1_2"]);
                }
                const vs = one(s, VIRTUAL_SERVICE).inputs.spec;
                const routedPorts = [...vs.http, ...vs.tcp].flatMap((route: any) => route.match.map((m: any) => m.port));
                assert.deepEqual(routedPorts.sort(), [443, 8443, 9440]);

                const ap = one(s, AUTHZ).inputs;
                assert.equal(ap.spec.action, "ALLOW");
                assert.deepEqual(ap.spec.rules, [{ from: [{ source: { remoteIpBlocks: s.outputs.ingressAllowList } }] }]);
                assert.deepEqual(ap.spec.rules[0].from[0].source.remoteIpBlocks, one(s, SERVICE).inputs.spec.loadBalancerSourceRanges);
            });

            it(`${stack}, ${mode}: every Kubernetes object validates against its schema and carries the conventions' labels`, async () => {
                const s = await run(stack, mode);
                const objects = k8sObjects(s);
                assert.equal(objects.length, 15);
                for (const o of objects) {
                    validateK8sObject(o.inputs as any);
                    const labels = o.inputs.metadata.labels;
                    assert.equal(labels["app.kubernetes.io/part-of"], "byoc-data-plane", o.name);
                    assert.equal(labels["app.kubernetes.io/managed-by"], "pulumi", o.name);
                    assert.equal(labels["app.kubernetes.io/component"], "ingress-gateway", o.name);
                }
                const gatewayNs = one(s, "kubernetes:core/v1:Namespace", `byoc-${stackConfig(stack).customer.id}-istio-ingress`).inputs.metadata.labels;
                assert.equal(gatewayNs["pod-security.kubernetes.io/enforce"], "baseline");
            });
        }
    }

    it("a corrupted object recorded from the program fails schema validation", async () => {
        const s = await run("prod", "public");
        const gateway = JSON.parse(JSON.stringify(one(s, GATEWAY).inputs));
        gateway.spec.servers[1].tls.minProtocolVersion = "TLSV1_4";
        assert.throws(() => validateK8sObject(gateway), /Gateway clickhouse does not match its schema/);
        const hpa = JSON.parse(JSON.stringify(one(s, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler").inputs));
        hpa.spec.maxReplicas = "ten";
        assert.throws(() => validateK8sObject(hpa), /maxReplicas must be integer/);
    });

    it("refuses the staging ACME server in prod with a ResourceError naming the argument and value", async () => {
        await assert.rejects(
            runComponent(() => new IngressGateway("byoc-acme", componentArgs({ acmeServer: "staging" })), "prod"),
            (err: Error) => err.constructor.name === "ResourceError" && /IngressGateway byoc-acme: invalid arguments:\n {2}ingress\.acmeServer = "staging": must be "production" in prod/.test(err.message),
        );
        // The stack config refuses it earlier, with the full key path.
        assert.throws(() => stackConfig("prod", { "byoc:ingress": { ...stackConfig("prod").ingress, acmeServer: "staging" } }), /byoc:ingress\.acmeServer = "staging"/);
        // dev may use staging.
        const dev = await runComponent(() => new IngressGateway("byoc-acme", componentArgs({ environment: "dev", acmeServer: "staging" })));
        assert.match(one(dev, "kubernetes:cert-manager.io/v1:ClusterIssuer").inputs.spec.acme.server, /acme-staging-v02/);
    });

    it("refuses an empty allow list and private mode without peering", async () => {
        await assert.rejects(runComponent(() => new IngressGateway("gw", componentArgs({ ipAllowList: [] }))), /ingress\.ipAllowList = \[\]: is empty/);
        await assert.rejects(runComponent(() => new IngressGateway("gw", componentArgs({ mode: "private" }))), /ingress\.mode = "private": private ingress is an internal NLB reached over VPC peering/);
    });

    it("installs the Load Balancer Controller, Istio and cert-manager as pinned Helm releases with the stack's values", async () => {
        const s = await run("prod", "public");
        const releases = ofType(s, RELEASE);
        assert.deepEqual(releases.map((r) => r.inputs.name).sort(), ["aws-load-balancer-controller", "cert-manager", "istio-base", "istiod"]);
        for (const r of releases) {
            assert.match(r.inputs.version, /^v?\d+\.\d+\.\d+$/, `${r.inputs.name} is pinned`);
            assert.match(r.inputs.repositoryOpts.repo, /^https:\/\//);
            assert.equal(r.outputs.status.status, "deployed");
        }
        const lbc = release(s, "aws-load-balancer-controller");
        assert.equal(lbc.inputs.namespace, "kube-system");
        assert.equal(lbc.inputs.values.clusterName, s.outputs.clusterName);
        assert.equal(lbc.inputs.values.vpcId, s.outputs.vpcId);
        assert.equal(lbc.inputs.values.region, "us-east-1");
        assert.deepEqual(lbc.inputs.values.defaultTags, { "byoc:customer": "acme", "byoc:environment": "prod" });
        assert.deepEqual(release(s, "cert-manager").inputs.values.crds, { enabled: true, keep: true });
        assert.equal(release(s, "istiod").inputs.namespace, "istio-system");
    });

    it("binds least-privilege roles to the controller and cert-manager through Pod Identity", async () => {
        const s = await run("prod", "public");
        const associations = ofType(s, "aws:eks/podIdentityAssociation:PodIdentityAssociation");
        assert.deepEqual(associations.map((a) => `${a.inputs.namespace}/${a.inputs.serviceAccount}`).sort(), ["cert-manager/cert-manager", "kube-system/aws-load-balancer-controller"]);
        assert.equal(release(s, "aws-load-balancer-controller").inputs.values.serviceAccount.name, "aws-load-balancer-controller");
        assert.equal(release(s, "cert-manager").inputs.values.serviceAccount.name, "cert-manager");
        for (const a of associations) {
            assert.equal(a.inputs.clusterName, s.outputs.clusterName);
            const role = s.resources.find((r) => r.type === "aws:iam/role:Role" && r.outputs.arn === a.inputs.roleArn)!;
            assert.equal(role.inputs.tags["byoc:role"], "ingress-gateway");
            assert.equal(role.inputs.tags["byoc:component"], "IngressGateway");
            const trust = JSON.parse(role.inputs.assumeRolePolicy);
            assert.deepEqual(trust.Statement[0].Principal, { Service: "pods.eks.amazonaws.com" });
            assert.deepEqual(trust.Statement[0].Action, ["sts:AssumeRole", "sts:TagSession"]);
            assert.equal(trust.Statement[0].Condition.StringEquals["aws:RequestTag/kubernetes-service-account"], a.inputs.serviceAccount);
            const policy = JSON.parse(ofType(s, "aws:iam/rolePolicy:RolePolicy").find((p) => p.inputs.role === role.id)!.inputs.policy);
            for (const st of policy.Statement) for (const action of st.Action) assert.ok(!action.includes("*"), `${role.name}: wildcard action ${action}`);
        }
        const zone = one(s, "aws:route53/zone:Zone");
        const certPolicy = JSON.parse(one(s, "aws:iam/rolePolicy:RolePolicy", "byoc-acme-cert-manager").inputs.policy);
        assert.ok(certPolicy.Statement.filter((st: any) => st.Action.includes("route53:ChangeResourceRecordSets")).every((st: any) => st.Resource === zone.outputs.arn));
        assert.equal(one(s, "kubernetes:cert-manager.io/v1:ClusterIssuer").inputs.spec.acme.solvers[0].dns01.route53.hostedZoneID, zone.outputs.zoneId);
    });

    it("creates things in an order that works: CRDs and controllers before what needs them", async () => {
        const s = await run("prod", "public");
        const deployment = one(s, "kubernetes:apps/v1:Deployment");
        dependsOn(s, deployment, release(s, "istiod"));
        dependsOn(s, one(s, SERVICE), release(s, "aws-load-balancer-controller"));
        for (const t of [GATEWAY, VIRTUAL_SERVICE, AUTHZ]) dependsOn(s, one(s, t), release(s, "istio-base"));
        for (const t of ["kubernetes:cert-manager.io/v1:ClusterIssuer", "kubernetes:cert-manager.io/v1:Certificate"]) dependsOn(s, one(s, t), release(s, "cert-manager"));
        dependsOn(s, release(s, "aws-load-balancer-controller"), one(s, "aws:eks/podIdentityAssociation:PodIdentityAssociation", "byoc-acme-lbc"));
        dependsOn(s, release(s, "cert-manager"), one(s, "aws:eks/podIdentityAssociation:PodIdentityAssociation", "byoc-acme-cert-manager"));
        // Every Kubernetes object goes to the cluster's provider.
        for (const r of ingressChildren(s).filter((c) => c.type.startsWith("kubernetes:"))) assert.match(r.provider ?? "", /pulumi:providers:kubernetes::byoc-acme-k8s::/, r.name);
    });

    it("lets the gateway's service account read Secrets in its namespace (istiod's SDS authorizes credentialName by a SubjectAccessReview for list secrets)", async () => {
        const s = await run("prod", "public");
        const role = one(s, "kubernetes:rbac.authorization.k8s.io/v1:Role").inputs;
        const binding = one(s, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding").inputs;
        const gatewaySa = one(s, "kubernetes:core/v1:ServiceAccount").inputs.metadata;
        const certificate = one(s, "kubernetes:cert-manager.io/v1:Certificate").inputs;
        assert.equal(role.metadata.namespace, certificate.metadata.namespace, "the Role covers the namespace the TLS Secret is issued into");
        assert.deepEqual(role.rules, [{ apiGroups: [""], resources: ["secrets"], verbs: ["get", "watch", "list"] }]);
        assert.deepEqual(binding.subjects, [{ kind: "ServiceAccount", name: gatewaySa.name, namespace: gatewaySa.namespace }]);
        assert.equal(binding.roleRef.name, role.metadata.name);
        const deployment = one(s, "kubernetes:apps/v1:Deployment");
        assert.equal(deployment.inputs.spec.template.spec.serviceAccountName, gatewaySa.name);
        dependsOn(s, deployment, one(s, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"));
    });

    it("the Load Balancer Controller never holds up other Services: its Service mutator is off and the gateway pods come after it (readiness gate)", async () => {
        const s = await run("prod", "public");
        const lbc = release(s, "aws-load-balancer-controller");
        assert.equal(lbc.inputs.values.enableServiceMutatorWebhook, false);
        assert.equal(one(s, SERVICE).inputs.spec.loadBalancerClass, "service.k8s.aws/nlb", "the class the controller reconciles without the mutator");
        const gatewayNs = ofType(s, "kubernetes:core/v1:Namespace").find((n) => n.inputs.metadata.name === "istio-ingress")!;
        assert.equal(gatewayNs.inputs.metadata.labels["elbv2.k8s.aws/pod-readiness-gate-inject"], "enabled");
        dependsOn(s, one(s, "kubernetes:apps/v1:Deployment"), lbc);
        for (const r of ofType(s, RELEASE)) assert.ok(r.inputs.timeout >= 600, `${r.name} has an explicit Helm timeout`);
    });

    it("points *.<domain> at the NLB and exports the hostname, scheme, allow list and name servers", async () => {
        const s = await run("prod", "private");
        const nlb = one(s, SERVICE).outputs.status.loadBalancer.ingress[0].hostname;
        assert.match(nlb, /\.elb\.us-east-1\.amazonaws\.com$/);
        const record = one(s, "aws:route53/record:Record");
        assert.deepEqual([record.inputs.name, record.inputs.type, record.inputs.records], ["*.acme.byoc.example.com", "CNAME", [nlb]]);
        assert.equal(s.outputs.ingressLoadBalancerHostname, nlb);
        assert.equal(s.outputs.ingressHostname, "clickhouse.acme.byoc.example.com");
        assert.equal(s.outputs.ingressScheme, "internal");
        assert.deepEqual(s.outputs.ingressAllowList, ["192.0.2.0/24", "203.0.113.64/26", "172.31.0.0/16"]);
        assert.equal(s.outputs.ingressNameServers.length, 4);
        const cert = one(s, "kubernetes:cert-manager.io/v1:Certificate").inputs;
        assert.equal(cert.metadata.namespace, one(s, GATEWAY).inputs.metadata.namespace);
        assert.ok(one(s, GATEWAY).inputs.spec.servers.filter((x: any) => x.tls?.credentialName).every((x: any) => x.tls.credentialName === cert.spec.secretName));
    });
});
