import { strict as assert } from "assert";
import { Namespace, Service, ServiceAccount } from "kubernetes-models/v1";
import { Deployment } from "kubernetes-models/apps/v1";
import { Role, RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import { Gateway, VirtualService } from "@kubernetes-models/istio/networking.istio.io/v1beta1";
import { AuthorizationPolicy } from "@kubernetes-models/istio/security.istio.io/v1";
import { Certificate, ClusterIssuer } from "@kubernetes-models/cert-manager/cert-manager.io/v1";
import * as r from "../../../components/render/ingress";
import { isWorldOpen } from "../../../stacks/cidr";

type Obj = { apiVersion: string; kind: string; [k: string]: unknown };
type Model = new (data: any) => { validate(): void };

/**
 * Schemas by apiVersion/kind. kubernetes-models/istio 2.3 ships networking v1beta1 only; Istio (≥ 1.22) serves
 * networking.istio.io/v1 from the same CRD with the identical schema, so v1 objects are checked against it.
 */
const SCHEMAS: Record<string, Model> = {
    "v1/Namespace": Namespace,
    "v1/ServiceAccount": ServiceAccount,
    "v1/Service": Service,
    "apps/v1/Deployment": Deployment,
    "rbac.authorization.k8s.io/v1/Role": Role,
    "rbac.authorization.k8s.io/v1/RoleBinding": RoleBinding,
    "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
    "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
    "networking.istio.io/v1/Gateway": Gateway,
    "networking.istio.io/v1/VirtualService": VirtualService,
    "security.istio.io/v1/AuthorizationPolicy": AuthorizationPolicy,
    "cert-manager.io/v1/ClusterIssuer": ClusterIssuer,
    "cert-manager.io/v1/Certificate": Certificate,
};
const SAME_SCHEMA_AS: Record<string, string> = { "networking.istio.io/v1": "networking.istio.io/v1beta1" };

/** Validates one object against its schema; throws (naming the object) when it does not fit or has no known schema. */
export function validateK8sObject(obj: Obj): void {
    const key = `${obj.apiVersion}/${obj.kind}`;
    const model = SCHEMAS[key];
    if (!model) throw new Error(`no schema registered for ${key}: add it to SCHEMAS so it is validated`);
    const data = SAME_SCHEMA_AS[obj.apiVersion] ? { ...obj, apiVersion: SAME_SCHEMA_AS[obj.apiVersion] } : obj;
    const name = (obj.metadata as { name?: string } | undefined)?.name ?? "?";
    try {
        new model(JSON.parse(JSON.stringify(data))).validate();
    } catch (err) {
        throw new Error(`${key} ${name} does not match its schema: ${(err as Error).message}`);
    }
}

const settings = (over: Partial<r.IngressSettings> = {}): r.IngressSettings => ({
    environment: "prod",
    mode: "public",
    ipAllowList: ["192.0.2.0/24", "203.0.113.64/26"],
    peeredCidrs: ["172.31.0.0/16"],
    domain: "acme.byoc.example.com",
    acmeEmail: "platform@example.com",
    acmeServer: "production",
    ...over,
});

/** Every object the component emits, built the way the component builds them. */
function allObjects(s: r.IngressSettings): Obj[] {
    const ranges = r.effectiveAllowList(s);
    return [
        ...r.namespaces(),
        r.gatewayServiceAccount(),
        r.gatewayDeployment({ min: 3 }),
        r.gatewayPodDisruptionBudget(),
        r.gatewayAutoscaler({ min: 3, max: 10 }),
        r.gatewayService({ mode: s.mode, sourceRanges: ranges, lbTags: { "byoc:role": r.ROLE } }),
        r.istioGateway(s.domain),
        r.clickhouseVirtualService({ hostname: r.hostnameFor(s.domain), clickhouse: r.DEFAULT_CLICKHOUSE }),
        r.gatewayAuthorizationPolicy(ranges),
        r.clusterIssuer({ server: s.acmeServer, email: s.acmeEmail, domain: s.domain, region: "us-east-1", hostedZoneId: "Z0123456789ABCDEFGHIJ" }),
        r.gatewayCertificate({ domain: s.domain, server: s.acmeServer }),
    ] as Obj[];
}

describe("render/ingress", () => {
    describe("schemas", () => {
        for (const mode of ["public", "private"] as const) {
            for (const environment of ["dev", "prod"] as const) {
                it(`every object validates against its schema (${environment}, ${mode})`, () => {
                    const objects = allObjects(settings({ mode, environment, acmeServer: environment === "dev" ? "staging" : "production" }));
                    assert.equal(objects.length, 13);
                    objects.forEach(validateK8sObject);
                });
            }
        }

        it("a bad object fails validation", () => {
            const service = r.gatewayService({ mode: "public", sourceRanges: ["192.0.2.0/24"] }) as any;
            service.spec.ports[0].port = "80"; // a string where the API wants an integer
            assert.throws(() => validateK8sObject(service), /v1\/Service istio-ingressgateway does not match its schema: .*ports\/0\/port must be integer/);

            const gateway = r.istioGateway("acme.byoc.example.com") as any;
            gateway.spec.servers[1].tls.mode = "TERMINATE"; // not an Istio TLS mode
            assert.throws(() => validateK8sObject(gateway), /Gateway clickhouse does not match its schema: .*must be equal to one of the allowed values/);

            const cert = r.gatewayCertificate({ domain: "acme.byoc.example.com", server: "production" }) as any;
            delete cert.spec.issuerRef; // required by cert-manager
            assert.throws(() => validateK8sObject(cert), /Certificate clickhouse-ingress-tls does not match its schema: .*must have required property '?issuerRef'?/);

            const deployment = r.gatewayDeployment({ min: 2 }) as any;
            delete deployment.spec.selector;
            assert.throws(() => validateK8sObject(deployment), /must have required property '?selector'?/);
        });

        it("an object without a registered schema is an error, never silently skipped", () => {
            assert.throws(() => validateK8sObject({ apiVersion: "networking.istio.io/v2", kind: "Gateway" }), /no schema registered for networking.istio.io\/v2\/Gateway/);
        });
    });

    describe("arguments", () => {
        it("accepts the stack files' settings", () => {
            assert.deepEqual(r.settingsProblems(settings()), []);
            assert.deepEqual(r.settingsProblems(settings({ environment: "dev", acmeServer: "staging", ipAllowList: ["0.0.0.0/0"] })), []);
        });

        it("refuses the staging ACME server in prod, naming the argument and value", () => {
            const problems = r.settingsProblems(settings({ acmeServer: "staging" }));
            assert.equal(problems.length, 1);
            assert.equal(problems[0].arg, "ingress.acmeServer");
            assert.equal(problems[0].value, "staging");
            assert.match(problems[0].message, /must be "production" in prod/);
        });

        it("refuses an empty allow list, a bad CIDR, the whole internet in prod and private mode without peering", () => {
            assert.deepEqual(r.settingsProblems(settings({ ipAllowList: [] })).map((p) => p.arg), ["ingress.ipAllowList"]);
            assert.deepEqual(r.settingsProblems(settings({ ipAllowList: ["192.0.2.1/24"] })).map((p) => p.arg), ["ingress.ipAllowList[0]"]);
            assert.deepEqual(r.settingsProblems(settings({ ipAllowList: ["192.0.2.0/24", "::/0"] })).map((p) => `${p.arg}=${p.value}`), ["ingress.ipAllowList[1]=::/0"]);
            assert.deepEqual(r.settingsProblems(settings({ mode: "private", peeredCidrs: [] })).map((p) => p.arg), ["ingress.mode"]);
        });
    });

    describe("allow list and NLB", () => {
        it("public: the allow list only; private: plus the peered CIDRs; canonical and de-duplicated", () => {
            assert.deepEqual(r.effectiveAllowList(settings()), ["192.0.2.0/24", "203.0.113.64/26"]);
            assert.deepEqual(r.effectiveAllowList(settings({ mode: "private" })), ["192.0.2.0/24", "203.0.113.64/26", "172.31.0.0/16"]);
            assert.deepEqual(r.effectiveAllowList(settings({ mode: "private", ipAllowList: ["172.31.0.0/16", "2001:db8:0:0::/32"] })), ["172.31.0.0/16", "2001:db8::/32"]);
        });

        for (const [mode, scheme] of [["public", "internet-facing"], ["private", "internal"]] as const) {
            it(`${mode}: an NLB with IP targets, client IPs preserved, scheme ${scheme}, source ranges = allow list`, () => {
                const ranges = r.effectiveAllowList(settings({ mode }));
                const svc = r.gatewayService({ mode, sourceRanges: ranges, lbTags: { "byoc:component": "IngressGateway", "byoc:role": r.ROLE } });
                const a = svc.metadata!.annotations!;
                assert.equal(svc.spec!.type, "LoadBalancer");
                assert.equal(svc.spec!.loadBalancerClass, "service.k8s.aws/nlb");
                assert.equal(a["service.beta.kubernetes.io/aws-load-balancer-type"], "external");
                assert.equal(a["service.beta.kubernetes.io/aws-load-balancer-nlb-target-type"], "ip");
                assert.equal(a["service.beta.kubernetes.io/aws-load-balancer-scheme"], scheme);
                assert.equal(a["service.beta.kubernetes.io/aws-load-balancer-target-group-attributes"], "preserve_client_ip.enabled=true");
                assert.equal(a["service.beta.kubernetes.io/aws-load-balancer-additional-resource-tags"], "byoc:component=IngressGateway,byoc:role=ingress-gateway");
                assert.deepEqual(svc.spec!.loadBalancerSourceRanges, ranges);
                assert.equal(svc.spec!.allocateLoadBalancerNodePorts, false);
                assert.deepEqual(svc.spec!.ports!.map((p) => p.port), [80, 443, 8443, 9440]);
                assert.deepEqual(svc.spec!.selector, { "app.kubernetes.io/name": r.GATEWAY_NAME, "app.kubernetes.io/component": r.ROLE });
            });
        }
    });

    describe("gateway workload", () => {
        it("is injected by istiod with the gateway template and selected by the Service, PDB and HPA", () => {
            const d = r.gatewayDeployment({ min: 3 });
            const pod = d.spec!.template;
            assert.equal(pod.metadata!.annotations!["inject.istio.io/templates"], "gateway");
            assert.equal(pod.metadata!.labels!["sidecar.istio.io/inject"], "true");
            assert.equal(pod.metadata!.labels!.istio, "ingressgateway");
            assert.equal(pod.metadata!.labels!["app.kubernetes.io/component"], r.ROLE);
            assert.equal(pod.metadata!.labels!["app.kubernetes.io/part-of"], "byoc-data-plane");
            assert.equal(pod.spec!.containers[0].image, "auto");
            assert.equal(pod.spec!.containers[0].securityContext!.allowPrivilegeEscalation, false);
            assert.equal(d.spec!.replicas, undefined, "the HPA owns replicas");
            const selector = d.spec!.selector.matchLabels!;
            for (const [k, v] of Object.entries(selector)) assert.equal(pod.metadata!.labels![k], v);
            assert.deepEqual(r.gatewayService({ mode: "public", sourceRanges: ["192.0.2.0/24"] }).spec!.selector, selector);
            assert.deepEqual(r.gatewayPodDisruptionBudget().spec!.selector!.matchLabels, selector);
            assert.equal(r.gatewayAutoscaler({ min: 3, max: 10 }).spec!.scaleTargetRef.name, d.metadata!.name);
        });
    });

    describe("Istio", () => {
        it("Gateway: HTTPS/TLS terminated with the certificate Secret at TLS 1.2+, port 80 only redirects", () => {
            const gw = r.istioGateway("acme.byoc.example.com");
            assert.equal(gw.apiVersion, "networking.istio.io/v1");
            assert.deepEqual(gw.spec!.selector, { istio: "ingressgateway" });
            const servers = gw.spec!.servers!;
            for (const s of servers) {
                assert.deepEqual(s.hosts, ["*.acme.byoc.example.com"]);
                if (s.port!.protocol === "HTTP") {
                    assert.deepEqual(s.tls, { httpsRedirect: true }, "plain HTTP is only a redirect");
                } else {
                    assert.ok(["HTTPS", "TLS"].includes(s.port!.protocol!));
                    assert.equal(s.tls!.mode, "SIMPLE");
                    assert.equal(s.tls!.credentialName, r.certificateSecretName);
                    assert.equal(s.tls!.minProtocolVersion, "TLSV1_2");
                }
            }
            assert.deepEqual(servers.map((s) => `${s.port!.number}/${s.port!.protocol}`), ["80/HTTP", "443/HTTPS", "8443/HTTPS", "9440/TLS"]);
        });

        it("VirtualService: 443/8443 to the ClickHouse HTTP port, 9440 to its native port, nothing on port 80", () => {
            const vs = r.clickhouseVirtualService({ hostname: "clickhouse.acme.byoc.example.com", clickhouse: r.DEFAULT_CLICKHOUSE });
            assert.deepEqual(vs.spec!.gateways, ["istio-ingress/clickhouse"]);
            assert.deepEqual(vs.spec!.hosts, ["clickhouse.acme.byoc.example.com"]);
            const http = vs.spec!.http!;
            assert.deepEqual(http.flatMap((h) => h.match!.map((m) => m.port)), [443, 8443]);
            assert.deepEqual(http[0].route![0].destination, { host: "clickhouse.clickhouse.svc.cluster.local", port: { number: 8123 } });
            assert.deepEqual(vs.spec!.tcp![0].match!.map((m) => m.port), [9440]);
            assert.deepEqual(vs.spec!.tcp![0].route![0].destination, { host: "clickhouse.clickhouse.svc.cluster.local", port: { number: 9000 } });
            const ports = JSON.stringify(vs).match(/"port":\d+/g);
            assert.ok(!ports!.includes('"port":80'), "no route on the plain HTTP port");
        });

        it("AuthorizationPolicy: ALLOW only the allow list at the gateway", () => {
            const ranges = r.effectiveAllowList(settings({ mode: "private" }));
            const ap = r.gatewayAuthorizationPolicy(ranges) as any;
            assert.equal(ap.spec.action, "ALLOW");
            assert.deepEqual(ap.spec.selector.matchLabels, { istio: "ingressgateway" });
            assert.deepEqual(ap.spec.rules, [{ from: [{ source: { remoteIpBlocks: ranges } }] }]);
        });
    });

    describe("cert-manager", () => {
        it("ClusterIssuer: Let's Encrypt by server, account key Secret, DNS-01 on the Route53 zone", () => {
            const prod = r.clusterIssuer({ server: "production", email: "platform@example.com", domain: "acme.byoc.example.com", region: "us-east-1", hostedZoneId: "ZABC" });
            assert.equal(prod.spec.acme.server, "https://acme-v02.api.letsencrypt.org/directory");
            assert.deepEqual(prod.spec.acme.privateKeySecretRef, { name: "letsencrypt-production-account-key" });
            assert.deepEqual(prod.spec.acme.solvers, [{ selector: { dnsZones: ["acme.byoc.example.com"] }, dns01: { route53: { region: "us-east-1", hostedZoneID: "ZABC" } } }]);
            const staging = r.clusterIssuer({ server: "staging", email: "platform@example.com", domain: "acme.byoc.example.com", region: "us-east-1", hostedZoneId: "ZABC" });
            assert.match(staging.spec.acme.server, /acme-staging-v02/);
        });

        it("Certificate: *.<domain> into the Secret the Gateway uses, in the gateway's namespace", () => {
            const c = r.gatewayCertificate({ domain: "acme.byoc.example.com", server: "production" });
            const gwTls = r.istioGateway("acme.byoc.example.com").spec!.servers![1].tls!;
            assert.equal(c.metadata!.namespace, r.NS.gateway);
            assert.equal(r.istioGateway("x.example.com").metadata!.namespace, c.metadata!.namespace);
            assert.equal(c.spec!.secretName, gwTls.credentialName);
            assert.deepEqual(c.spec!.dnsNames, ["*.acme.byoc.example.com"]);
            assert.deepEqual(c.spec!.issuerRef, { group: "cert-manager.io", kind: "ClusterIssuer", name: "letsencrypt-production" });
            assert.equal(c.spec!.secretTemplate!.labels!["app.kubernetes.io/component"], r.ROLE);
        });
    });

    describe("IAM", () => {
        const statements = (doc: r.PolicyDocument) => doc.Statement;
        const lbc = r.loadBalancerControllerPolicy({ partition: "aws", region: "us-east-1", account: "111122223333", clusterName: "byoc-acme-prod", vpcId: "vpc-0123456789abcdef0" });

        it("Load Balancer Controller: explicit actions, no ALB-only services, writes scoped to this account, region, VPC and cluster", () => {
            const actions = statements(lbc).flatMap((s) => s.Action);
            assert.ok(actions.every((a) => !a.includes("*")), "no wildcard actions");
            assert.ok(!actions.some((a) => /^(cognito-idp|acm|waf|wafv2|waf-regional|shield):/.test(a) || /ServerCertificate|Rule$|WebAcl/.test(a)), "no ALB-only actions");
            for (const s of statements(lbc)) {
                const resources = ([] as string[]).concat(s.Resource ?? []);
                if (resources.includes("*")) {
                    assert.equal(s.Sid, "Describe", `${s.Sid} uses Resource "*"`);
                    assert.ok(s.Action.every((a) => /:(Describe|Get)/.test(a)), "only read-only actions on *");
                    continue;
                }
                for (const res of resources) assert.match(res, /^arn:aws:(elasticloadbalancing|ec2):us-east-1:111122223333:|^arn:aws:iam::111122223333:role\/aws-service-role\//);
            }
            const mutating = statements(lbc).filter((s) => s.Action.some((a) => /:(Delete|Modify|Set|Register|Deregister)/.test(a)) && !(s.Sid ?? "").includes("Listener"));
            for (const s of mutating) {
                assert.equal(JSON.stringify(s.Condition ?? {}).includes('"byoc-acme-prod"') || JSON.stringify(s.Condition ?? {}).includes("vpc-0123456789abcdef0"), true, `${s.Sid} is not limited to this cluster`);
            }
            const sgRules = statements(lbc).find((s) => s.Sid === "SecurityGroupRulesInVpc")!;
            assert.deepEqual(sgRules.Condition, { ArnEquals: { "ec2:Vpc": "arn:aws:ec2:us-east-1:111122223333:vpc/vpc-0123456789abcdef0" } });
        });

        it("cert-manager: TXT records under _acme-challenge.<domain> in one zone, no zone listing", () => {
            const doc = r.route53SolverPolicy({ partition: "aws", hostedZoneId: "ZABC", domain: "acme.byoc.example.com" });
            const change = doc.Statement.find((s) => s.Action.includes("route53:ChangeResourceRecordSets"))!;
            assert.equal(change.Resource, "arn:aws:route53:::hostedzone/ZABC");
            assert.deepEqual(change.Condition, {
                "ForAllValues:StringEquals": {
                    "route53:ChangeResourceRecordSetsRecordTypes": ["TXT"],
                    "route53:ChangeResourceRecordSetsNormalizedRecordNames": ["_acme-challenge.acme.byoc.example.com"],
                },
            });
            const actions = doc.Statement.flatMap((s) => s.Action);
            assert.deepEqual(actions.sort(), ["route53:ChangeResourceRecordSets", "route53:GetChange", "route53:ListResourceRecordSets"]);
            assert.ok(doc.Statement.every((s) => s.Resource !== "*"));
        });
    });

    describe("Helm", () => {
        it("every chart is pinned to an exact version", () => {
            for (const [key, c] of Object.entries(r.CHARTS)) {
                assert.match(c.version, /^v?\d+\.\d+\.\d+$/, `${key} is not pinned`);
                assert.match(c.repo, /^https:\/\//);
            }
        });

        it("cert-manager installs its CRDs; the controller is NLB-only; istiod does not trust X-Forwarded-For", () => {
            assert.deepEqual(r.certManagerValues({ replicas: 2 }).crds, { enabled: true, keep: true });
            const lbc = r.loadBalancerControllerValues({ clusterName: "c", vpcId: "vpc-1", region: "us-east-1", replicas: 2, defaultTags: {} });
            assert.equal(lbc.createIngressClassResource, false);
            assert.equal(lbc.serviceAccount.name, r.LBC_SERVICE_ACCOUNT);
            assert.equal(r.istiodValues({ replicas: 2 }).meshConfig.defaultConfig.gatewayTopology.numTrustedProxies, 0);
        });
    });

    it("flow row: allow list and TLS, plus the peering when private", () => {
        const pub = r.ingressFlowRestriction({ mode: "public", sourceRanges: ["192.0.2.0/24"], peeredCidrs: ["172.31.0.0/16"], domain: "d.example.com" });
        assert.equal(pub, "IP allow list on the NLB (loadBalancerSourceRanges = 192.0.2.0/24); TLS at Istio (TLS ≥ 1.2, *.d.example.com)");
        const priv = r.ingressFlowRestriction({ mode: "private", sourceRanges: ["192.0.2.0/24", "172.31.0.0/16"], peeredCidrs: ["172.31.0.0/16"], domain: "d.example.com" });
        assert.match(priv, /; internal NLB \+ VPC peering \(172\.31\.0\.0\/16\)$/);
        assert.ok(!isWorldOpen("192.0.2.0/24"));
    });
});
