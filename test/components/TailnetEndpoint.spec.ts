// TailnetEndpoint under the mock runtime: nothing on the Tailscale path accepts inbound traffic (no SG ingress, no
// Service selecting the agents, deny-all-ingress NetworkPolicy), auth keys are tagged, preauthorized, single-use
// and short-lived and live only in a Kubernetes Secret, agents never route, nginx gets the rendered config.
import { strict as assert } from "assert";
import { ENDPOINTS, serveConfig, TailnetEndpoint, tailnetHostname } from "../../components/TailnetEndpoint";
import { RecordedResource } from "../../preview/runtime";
import { baselines } from "../../stacks/baselines";
import { runComponent, runStack, Stack } from "../harness";

const T = {
    endpoint: "byoc:index:TailnetEndpoint",
    key: "tailscale:index/tailnetKey:TailnetKey",
    deployment: "kubernetes:apps/v1:Deployment",
    service: "kubernetes:core/v1:Service",
    secret: "kubernetes:core/v1:Secret",
    configMap: "kubernetes:core/v1:ConfigMap",
    netpol: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
    role: "kubernetes:rbac.authorization.k8s.io/v1:Role",
    sg: "aws:ec2/securityGroup:SecurityGroup",
    sgRule: "aws:ec2/securityGroupRule:SecurityGroupRule",
    sgIngress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
};
const COMPONENT = "app.kubernetes.io/component";

const underEndpoint = (r: RecordedResource) => r.urn.includes("byoc:index:TailnetEndpoint$");
const podLabels = (d: RecordedResource): Record<string, string> => d.inputs.spec.template.metadata.labels;
const ns = (r: RecordedResource): string => r.inputs.metadata?.namespace ?? "default";
const agents = (s: Stack) => s.ofType(T.deployment).filter((d) => podLabels(d)[COMPONENT] === "tailscale-agent");
const matches = (selector: Record<string, string> | undefined, labels: Record<string, string>) =>
    !!selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

describe("TailnetEndpoint", () => {
    let prod: Stack;
    let dev: Stack;
    before(async () => {
        prod = await runStack("prod");
        dev = await runStack("dev");
    });

    it("creates one endpoint per configured entry, each with its unique tailnet hostname", () => {
        assert.deepEqual(prod.ofType(T.endpoint).map((r) => r.name).sort(), ["byoc-acme-ch", "byoc-acme-k8s", "byoc-acme-metrics"]);
        assert.deepEqual(prod.outputs.tailnetHostnames, {
            "kubernetes-api": "k8s.acme.us-east-1.aws.byoc.example-prd.com",
            "clickhouse-system": "ch.acme.us-east-1.aws.byoc.example-prd.com",
            metrics: "metrics.acme.us-east-1.aws.byoc.example-prd.com",
        });
        assert.equal(tailnetHostname("kubernetes-api", "acme-dev", "us-east-1", "byoc.example-dev.com"), "k8s.acme-dev.us-east-1.aws.byoc.example-dev.com");
    });

    it("only the configured endpoints exist", async () => {
        const s = await runStack("prod", { "byoc:tailscale": { tailnet: "example.com", domain: "byoc.example-prd.com", tags: ["tag:byoc-prod"], oncallGroup: "group:byoc-oncall", endpoints: ["kubernetes-api"] } });
        assert.deepEqual(s.ofType(T.endpoint).map((r) => r.name), ["byoc-acme-k8s"]);
        assert.equal(agents(s).length, 1);
        assert.deepEqual(s.outputs.tailnetAclFragment.grants[0].ip, ["tcp:443"]);
    });

    for (const env of ["prod", "dev"] as const) {
        const expiry = baselines[env].tailscaleKeyExpirySeconds;
        it(`${env}: auth keys are tagged, preauthorized, single-use, not ephemeral and expire with the baseline (${expiry} s, ≤ 1 h)`, () => {
            const s = env === "prod" ? prod : dev;
            const keys = s.ofType(T.key);
            assert.equal(keys.length, 3);
            for (const k of keys) {
                assert.deepEqual(k.inputs.tags, env === "prod" ? ["tag:byoc-dataplane", "tag:byoc-prod"] : ["tag:byoc-dataplane", "tag:byoc-dev"]);
                assert.equal(k.inputs.preauthorized, true);
                assert.equal(k.inputs.reusable, false);
                assert.equal(k.inputs.ephemeral, false);
                assert.equal(k.inputs.expiry, expiry);
                assert.ok(k.inputs.expiry <= 3600, "hours at most, never the 90-day default");
            }
        });
    }

    it("each auth key is stored only in one Kubernetes Secret (env comes from secretKeyRef; never a stack output)", () => {
        const outputs = JSON.stringify(prod.outputs);
        for (const k of prod.ofType(T.key)) {
            const value: string = k.outputs.key;
            assert.match(value, /^tskey-auth-/);
            const holders = prod.resources.filter((r) => r.urn !== k.urn && JSON.stringify(r.inputs).includes(value));
            assert.deepEqual(holders.map((r) => r.type), [T.secret], `${k.name} is held by ${holders.map((h) => h.urn).join(", ")}`);
            assert.ok(!outputs.includes(value), "the key is not a stack output");
        }
    });

    it("no security group, SG rule or ingress rule exists on the Tailscale path", () => {
        for (const type of [T.sg, T.sgRule, T.sgIngress]) {
            assert.deepEqual(prod.ofType(type).filter(underEndpoint).map((r) => r.name), [], `${type} under TailnetEndpoint`);
        }
        const tagged = [...prod.ofType(T.sg), ...prod.ofType(T.sgIngress)].filter((r) => r.inputs.tags?.["byoc:role"] === "tailscale-agent");
        assert.deepEqual(tagged, []);
    });

    it("no Service in the whole stack selects an agent pod; the nginx Service selects only nginx", () => {
        const agentPods = agents(prod);
        assert.equal(agentPods.length, 3);
        for (const svc of prod.ofType(T.service)) {
            for (const a of agentPods) {
                if (ns(svc) !== ns(a)) continue;
                assert.ok(!matches(svc.inputs.spec?.selector, podLabels(a)), `Service ${svc.name} selects agent ${a.name}`);
            }
        }
        const nginxServices = prod.ofType(T.service).filter(underEndpoint);
        assert.equal(nginxServices.length, 3);
        for (const svc of nginxServices) {
            assert.equal(svc.inputs.spec.type, "ClusterIP");
            assert.equal(svc.inputs.spec.selector[COMPONENT], "tailnet-nginx");
        }
    });

    it("every agent namespace has a deny-all-ingress NetworkPolicy and no policy opens ingress to agents", () => {
        for (const a of agents(prod)) {
            const policies = prod.ofType(T.netpol).filter((p) => ns(p) === ns(a));
            const denyAll = policies.filter((p) => Object.keys(p.inputs.spec.podSelector).length === 0 && p.inputs.spec.policyTypes.includes("Ingress") && !(p.inputs.spec.ingress ?? []).length);
            assert.equal(denyAll.length, 1, `deny-all in ${ns(a)}`);
            for (const p of policies.filter((q) => (q.inputs.spec.ingress ?? []).length > 0)) {
                assert.ok(!matches(p.inputs.spec.podSelector.matchLabels, podLabels(a)), `${p.name} opens ingress to ${a.name}`);
                assert.equal(p.inputs.spec.podSelector.matchLabels[COMPONENT], "tailnet-nginx");
                assert.equal(p.inputs.spec.ingress[0].from[0].podSelector.matchLabels[COMPONENT], "tailscale-agent");
            }
            const egress = policies.find((p) => p.name.endsWith("-agent-egress"))!;
            const open = egress.inputs.spec.egress.find((e: any) => !e.to);
            assert.deepEqual(open.ports, [{ protocol: "TCP", port: 443 }, { protocol: "UDP", port: 41641 }, { protocol: "UDP", port: 3478 }]);
        }
    });

    it("agents: userspace, state in a Secret, key from the Secret, never a subnet router or exit node, locked down", () => {
        for (const a of agents(prod)) {
            const spec = a.inputs.spec;
            assert.equal(spec.replicas, 1);
            assert.equal(spec.strategy.type, "Recreate");
            const [c] = spec.template.spec.containers;
            assert.match(c.image, /^ghcr\.io\/tailscale\/tailscale:v\d+\.\d+\.\d+$/, "pinned tag, from the project's ghcr.io mirror (no Docker Hub pull limit)");
            const env = Object.fromEntries(c.env.map((e: any) => [e.name, e]));
            assert.equal(env.TS_USERSPACE.value, "true");
            assert.match(env.TS_KUBE_SECRET.value, /-tailscale-state$/);
            assert.deepEqual(Object.keys(env.TS_AUTHKEY), ["name", "valueFrom"]);
            assert.match(env.TS_AUTHKEY.valueFrom.secretKeyRef.name, /-tailscale-authkey$/);
            assert.equal(env.TS_AUTH_ONCE.value, "true");
            assert.match(env.TS_HOSTNAME.value, /^(k8s|ch|metrics)-acme-us-east-1$/);
            assert.equal(env.TS_ROUTES, undefined);
            assert.doesNotMatch(JSON.stringify(c), /advertise-routes|advertise-exit-node|TS_EXTRA_ARGS/);
            assert.deepEqual(c.securityContext, {
                runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" },
            });
            assert.ok(c.resources.limits.cpu && c.resources.limits.memory);
            assert.equal(c.ports, undefined, "the agent exposes no container port");
        }
    });

    it("agent RBAC: get/update/patch on its one state Secret, nothing else", () => {
        const roles = prod.ofType(T.role).filter(underEndpoint);
        assert.equal(roles.length, 3);
        for (const r of roles) {
            const agent = agents(prod).find((a) => ns(a) === ns(r))!;
            const state = agent.inputs.spec.template.spec.containers[0].env.find((e: any) => e.name === "TS_KUBE_SECRET").value;
            assert.deepEqual(r.inputs.rules, [{ apiGroups: [""], resources: ["secrets"], resourceNames: [state], verbs: ["get", "update", "patch"] }]);
        }
    });

    it("the agent forwards its tailnet ports to the nginx Service's ClusterIP (TS_SERVE_CONFIG)", () => {
        for (const [kind, short] of [["kubernetes-api", "k8s"], ["clickhouse-system", "ch"], ["metrics", "metrics"]] as const) {
            const svc = prod.one(T.service, `byoc-acme-${short}-nginx`);
            const serve = JSON.parse(prod.one(T.configMap, `byoc-acme-${short}-serve`).inputs.data["serve.json"]);
            const ip = svc.outputs.spec.clusterIP;
            assert.match(ip, /^172\.20\.\d+\.\d+$/);
            assert.deepEqual(JSON.parse(serveConfig(ENDPOINTS[kind].routes, ip)), serve);
            for (const r of ENDPOINTS[kind].routes) assert.equal(serve.TCP[String(r.tailnetPort)].TCPForward, `${ip}:${r.nginxPort}`);
        }
    });

    it("nginx: rendered config (terminate for k8s/metrics, SNI passthrough for ClickHouse), no token, locked down", () => {
        const k8sConf: string = prod.one(T.configMap, "byoc-acme-k8s-nginx").inputs.data["nginx.conf"];
        // The published name, the device name and its MagicDNS FQDN (as the tailnet reports it once the agent is in).
        assert.match(k8sConf, /server_name k8s\.acme\.us-east-1\.aws\.byoc\.example-prd\.com k8s-acme-us-east-1 k8s-acme-us-east-1\.tailnet-mock\.ts\.net;/);
        assert.match(k8sConf, /proxy_ssl_verify on;/);
        assert.match(k8sConf, /client_max_body_size 0;/, "a 1 MiB nginx default would refuse large CRDs and Helm release Secrets with 413");
        const chConf: string = prod.one(T.configMap, "byoc-acme-ch-nginx").inputs.data["nginx.conf"];
        assert.match(chConf, /ssl_preread on;/);
        assert.doesNotMatch(chConf, /ssl_certificate/);
        const nginx = prod.ofType(T.deployment).filter((d) => podLabels(d)[COMPONENT] === "tailnet-nginx");
        assert.equal(nginx.length, 3);
        for (const d of nginx) {
            const pod = d.inputs.spec.template.spec;
            assert.equal(pod.automountServiceAccountToken, false);
            assert.equal(pod.containers[0].securityContext.readOnlyRootFilesystem, true);
            assert.deepEqual(pod.containers[0].securityContext.capabilities, { drop: ["ALL"] });
            assert.ok(pod.containers[0].resources.limits.memory);
        }
    });

    it("the system-tables certificate lives where ClickHouse runs (nginx passes TLS through; ClickHouse presents it)", () => {
        const chSecret = prod.one(T.secret, "byoc-acme-ch-server-tls");
        assert.equal(chSecret.inputs.metadata.namespace, "clickhouse");
        const clickhouseNs = prod.ofType("kubernetes:core/v1:Namespace").find((n) => n.inputs.metadata.name === "clickhouse")!;
        assert.ok(chSecret.dependencies.includes(clickhouseNs.urn) || Object.values(chSecret.propertyDependencies).flat().includes(clickhouseNs.urn), "waits for the clickhouse namespace");
        for (const short of ["k8s", "metrics"]) assert.equal(prod.one(T.secret, `byoc-acme-${short}-server-tls`).inputs.metadata.namespace, `tailnet-${short}`);
    });

    it("names resolve on the tailnet: the certificate and nginx answer the published name, the device name and its MagicDNS FQDN; the records to publish are exported", () => {
        const csr = prod.one("tls:index/certRequest:CertRequest", "byoc-acme-k8s-server").inputs;
        assert.deepEqual(csr.dnsNames, ["k8s.acme.us-east-1.aws.byoc.example-prd.com", "k8s-acme-us-east-1", "k8s-acme-us-east-1.tailnet-mock.ts.net"]);
        const devices = prod.outputs.tailnetDevices;
        assert.deepEqual(Object.keys(devices).sort(), ["clickhouse-system", "kubernetes-api", "metrics"]);
        assert.equal(devices["kubernetes-api"].magicDnsName, "k8s-acme-us-east-1.tailnet-mock.ts.net");
        assert.match(devices["kubernetes-api"].addresses[0], /^100\./);
        const records = prod.outputs.tailnetDnsRecords as { name: string; type: string; value: string }[];
        assert.deepEqual(records.map((r) => r.name).sort(), Object.values(prod.outputs.tailnetHostnames as Record<string, string>).sort());
        assert.ok(records.every((r) => r.type === "A" && /^100\./.test(r.value)));
        // nginx and its certificate come after the agent has joined (the device lookup waits for it).
        const agent = prod.one(T.deployment, "byoc-acme-k8s-agent");
        const nginx = prod.one(T.deployment, "byoc-acme-k8s-nginx");
        const secret = prod.one(T.secret, "byoc-acme-k8s-server-tls");
        assert.ok(nginx.dependencies.includes(secret.urn));
        assert.match(nginx.inputs.spec.template.metadata.annotations["byoc.dev/config-sha256"], /^[0-9a-f]{64}$/, "a new config or certificate rolls nginx");
        // The certificate's names and nginx's config come from the device lookup, which waits for the agent.
        assert.deepEqual(prod.one("tls:index/certRequest:CertRequest", "byoc-acme-k8s-server").propertyDependencies.dnsNames, [agent.urn]);
        assert.deepEqual(prod.one(T.configMap, "byoc-acme-k8s-nginx").propertyDependencies.data, [agent.urn]);
    });

    it("keys are minted in byoc:tailscale.tailnet: an explicit provider carries it (a default provider would use the OAuth client's own tailnet)", () => {
        const provider = prod.one("pulumi:providers:tailscale");
        assert.equal(provider.inputs.tailnet, "example.com");
        for (const k of prod.ofType(T.key)) assert.match(k.provider ?? "", new RegExp(`^${provider.urn.replace(/[$.]/g, "\\$&")}::`), k.name);
    });

    it("single-use auth keys are recreated once spent or expired (recreateIfInvalid: always)", () => {
        for (const k of prod.ofType(T.key)) assert.equal(k.inputs.recreateIfInvalid, "always", k.name);
    });

    it("declares DESIGN §2's two tailnet flows", () => {
        const rows = (prod.outputs.networkFlows as any[]).filter((f) => f.component === "TailnetEndpoint");
        assert.deepEqual(rows.map((f) => [f.flow, f.direction, f.exposure]), [
            ["Engineer → tailnet → nginx → K8s API / system tables / metrics", "inbound over an outbound tunnel", "private"],
            ["Tailscale agent → coordination / DERP", "outbound", "public"],
        ]);
        assert.match(rows[0].restrictedBy, /Tailscale ACL grants to group:byoc-oncall .*time-bound certs \(≤ 8 h\), no SG ingress/);
        assert.equal(rows[1].restrictedBy, "egress only (TCP 443, UDP 41641, UDP 3478)");
    });

    it("exports the ACL fragment with grants only for the on-call group", () => {
        const acl = prod.outputs.tailnetAclFragment;
        assert.deepEqual(acl.grants, [{ src: ["group:byoc-oncall"], dst: ["tag:byoc-dataplane", "tag:byoc-prod"], ip: ["tcp:443", "tcp:8443", "tcp:9440"] }]);
        assert.ok(acl.tests.length >= 2);
    });

    for (const env of ["dev", "prod"] as const) {
        it(`${env}: the policy pack finds nothing to object to on the tailnet path`, () => {
            const s = env === "prod" ? prod : dev;
            const report = s.policyReport(env);
            const ours = report.violations.filter((v) => /TailnetEndpoint|TailnetCertificateAuthority|tailscale|tailnet/i.test(`${v.urn ?? ""} ${v.message}`));
            assert.deepEqual(ours, []);
        });
    }

    it("refuses bad arguments with messages that name the value", async () => {
        const ca = { certPem: "ca", privateKeyPem: "key" };
        const base = { endpoint: "metrics" as const, customer: "acme", region: "us-east-1", domain: "byoc.example.com", tags: ["tag:x"], oncallGroup: "group:oncall", authKeyExpirySeconds: 3600, ca };
        await assert.rejects(runComponent(() => new TailnetEndpoint("t", { ...base, tags: [] })), /tags \[\] must be a non-empty list of "tag:…"/);
        await assert.rejects(runComponent(() => new TailnetEndpoint("t", { ...base, authKeyExpirySeconds: 7776000 })), /authKeyExpirySeconds = 7776000 must be 300–86400 s/);
        await assert.rejects(runComponent(() => new TailnetEndpoint("t", { ...base, targets: ["a:1", "b:2"] })), /targets .* must list 1 host:port/);
    });
});
