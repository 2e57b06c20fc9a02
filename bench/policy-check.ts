/**
 * Benchmark: `byoc policy check` on a generated 10,000-resource `pulumi stack export` (a realistic mix of the
 * types the rules inspect plus ones they skip), measured as a whole process — `node cli/byoc.js policy check FILE
 * --json`, start-up, module loading, reading, judging and printing included — with its peak RSS. Then where the time
 * goes: start-up on a one-resource file, and the phases in-process (read + parse, evaluate, JSON report).
 * Target: ≥ 20,000 resources/s and < 200 MB peak RSS for the whole process (median of the runs).
 *
 *   node --require ./cli/register.js bench/policy-check.ts [count] [runs]
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { measuredNode, median } from "./measure";

const ROOT = path.resolve(__dirname, "..");
const COUNT = Number(process.argv[2] ?? 10000);
const RUNS = Number(process.argv[3] ?? 7);
const U = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const STACK = "urn:pulumi:bench::byoc-dataplane::";
const urn = (type: string, name: string) => `${STACK}${type}::${name}`;
const tags = (role: string, component: string) => ({ "byoc:customer": "acme", "byoc:environment": "prod", "byoc:component": component, "byoc:role": role });
const podLabels = (c: string, i: number) => ({ "app.kubernetes.io/part-of": "byoc-data-plane", "app.kubernetes.io/managed-by": "pulumi", "app.kubernetes.io/component": c, "byoc.dev/i": String(i) });

type Gen = (i: number) => Record<string, unknown>[];
const gens: Gen[] = [
    (i) => {
        const vpc = urn("aws:ec2/vpc:Vpc", `vpc-${i}`);
        return [
            { urn: vpc, type: "aws:ec2/vpc:Vpc", custom: true, id: `vpc-${i}`, inputs: { cidrBlock: "10.0.0.0/16", tags: tags("network", "DataPlaneNetwork") }, outputs: { id: `vpc-${i}`, arn: `arn:aws:ec2:eu-west-1:1:vpc/vpc-${i}` } },
            { urn: urn("aws:ec2/vpcEndpoint:VpcEndpoint", `s3-${i}`), type: "aws:ec2/vpcEndpoint:VpcEndpoint", custom: true, dependencies: [vpc], propertyDependencies: { vpcId: [vpc] }, inputs: { vpcId: `vpc-${i}`, serviceName: "com.amazonaws.eu-west-1.s3", vpcEndpointType: "Gateway" }, outputs: {} },
            { urn: urn("aws:ec2/subnet:Subnet", `private-${i}`), type: "aws:ec2/subnet:Subnet", custom: true, dependencies: [vpc], inputs: { vpcId: `vpc-${i}`, cidrBlock: "10.0.0.0/19", mapPublicIpOnLaunch: false, tags: { ...tags("network", "DataPlaneNetwork"), "byoc:tier": "private" } }, outputs: { id: `subnet-${i}` } },
        ];
    },
    (i) => {
        const b = urn("aws:s3/bucketV2:BucketV2", `thanos-${i}`);
        return [
            { urn: b, type: "aws:s3/bucketV2:BucketV2", custom: true, inputs: { bucket: `thanos-${i}`, tags: tags("thanos", "TelemetryOutbound") }, outputs: { id: `thanos-${i}`, arn: `arn:aws:s3:::thanos-${i}` } },
            { urn: urn("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", `thanos-${i}`), type: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", custom: true, dependencies: [b], propertyDependencies: { bucket: [b] }, inputs: { bucket: `thanos-${i}`, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true } },
        ];
    },
    (i) => {
        const sg = urn("aws:ec2/securityGroup:SecurityGroup", `agent-${i}`);
        return [
            { urn: sg, type: "aws:ec2/securityGroup:SecurityGroup", custom: true, inputs: { egress: [{ protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"] }], tags: tags("tailscale-agent", "TailnetEndpoint") }, outputs: { id: `sg-a${i}` } },
            { urn: urn("aws:ec2/securityGroupRule:SecurityGroupRule", `nodes-${i}`), type: "aws:ec2/securityGroupRule:SecurityGroupRule", custom: true, inputs: { type: "ingress", securityGroupId: `sg-n${i}`, protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["10.0.0.0/16"] } },
            { urn: urn("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", `nodes-${i}`), type: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", custom: true, inputs: { securityGroupId: U, cidrIpv4: "10.0.0.0/16", ipProtocol: "tcp", fromPort: 10250, toPort: 10250 } },
        ];
    },
    (i) => {
        const l = podLabels("tailscale-agent", i);
        return [
            { urn: urn("kubernetes:apps/v1:Deployment", `agent-${i}`), type: "kubernetes:apps/v1:Deployment", custom: true, inputs: { metadata: { namespace: `tailnet-${i % 50}`, labels: l }, spec: { selector: { matchLabels: l }, template: { metadata: { labels: l }, spec: { containers: [{ name: "tailscale", image: "ghcr.io/tailscale/tailscale:v1.80.3", env: [{ name: "TS_KUBE_SECRET", value: `agent-${i}` }, { name: "TS_USERSPACE", value: "true" }] }] } } } } },
            { urn: urn("kubernetes:core/v1:Service", `nginx-${i}`), type: "kubernetes:core/v1:Service", custom: true, inputs: { metadata: { namespace: `tailnet-${i % 50}` }, spec: { type: "ClusterIP", selector: podLabels("tailnet-nginx", i), ports: [{ port: 443 }] } } },
            { urn: urn("kubernetes:networking.k8s.io/v1:NetworkPolicy", `deny-${i}`), type: "kubernetes:networking.k8s.io/v1:NetworkPolicy", custom: true, inputs: { metadata: { namespace: `tailnet-${i % 50}` }, spec: { podSelector: {}, policyTypes: ["Ingress"] } } },
            { urn: urn("kubernetes:core/v1:ConfigMap", `nginx-conf-${i}`), type: "kubernetes:core/v1:ConfigMap", custom: true, inputs: { metadata: { labels: podLabels("tailnet-nginx", i) }, data: { "nginx.conf": "server { listen 443 ssl; location / { proxy_pass https://kubernetes.default.svc; } }\n".repeat(5) } } },
        ];
    },
    (i) => [
        { urn: urn("tailscale:index/tailnetKey:TailnetKey", `key-${i}`), type: "tailscale:index/tailnetKey:TailnetKey", custom: true, inputs: { tags: ["tag:byoc-dataplane"], preauthorized: true, reusable: false, ephemeral: false, expiry: 3600 } },
        { urn: urn("tls:index/locallySignedCert:LocallySignedCert", `oncall-${i}`), type: "tls:index/locallySignedCert:LocallySignedCert", custom: true, inputs: { allowedUses: ["digital_signature", "client_auth"], validityPeriodHours: 8, certRequestPem: "-----BEGIN CERTIFICATE REQUEST-----\nMIIB...\n-----END CERTIFICATE REQUEST-----" } },
        // one troubleshooting users.d ConfigMap per five grants (a stack has one per customer cluster)
        ...(i % 5 === 4 ? [] : [{ urn: urn("kubernetes:core/v1:ConfigMap", `ch-dashboards-${i}`), type: "kubernetes:core/v1:ConfigMap", custom: true, inputs: { metadata: { labels: podLabels("prometheus", i) }, data: { "rules.yaml": "groups: []\n" } } }]),
        ...(i % 5 !== 4 ? [] : [{ urn: urn("kubernetes:core/v1:ConfigMap", `ch-users-${i}`), type: "kubernetes:core/v1:ConfigMap", custom: true, inputs: { metadata: { labels: podLabels("troubleshooting", i) }, data: { "oncall.xml": `<clickhouse><users><oncall_${i}><ssl_certificates><common_name>oncall-${i}</common_name></ssl_certificates><profile>readonly</profile><grants><query>GRANT SELECT ON system.*</query></grants></oncall_${i}></users></clickhouse>` } } }]),
        { urn: urn("aws:eks/accessPolicyAssociation:AccessPolicyAssociation", `oncall-${i}`), type: "aws:eks/accessPolicyAssociation:AccessPolicyAssociation", custom: true, inputs: { clusterName: U, principalArn: `arn:aws:iam::1:role/oncall-${i}`, policyArn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy", accessScope: { type: "cluster" } } },
    ],
    (i) => {
        const role = urn("aws:iam/role:Role", `billing-${i}`);
        return [
            { urn: role, type: "aws:iam/role:Role", custom: true, inputs: { assumeRolePolicy: "{}", tags: tags("billing-scraper", "TelemetryOutbound") }, outputs: { name: `billing-${i}`, arn: `arn:aws:iam::1:role/billing-${i}` } },
            { urn: urn("aws:iam/rolePolicy:RolePolicy", `billing-${i}`), type: "aws:iam/rolePolicy:RolePolicy", custom: true, dependencies: [role], propertyDependencies: { role: [role] }, inputs: { role: U, policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["s3:PutObject"], Resource: [`arn:aws:s3:::provider-billing/acme-${i}/*`] }] }) } },
            { urn: urn("kubernetes:networking.istio.io/v1:Gateway", `gw-${i}`), type: "kubernetes:networking.istio.io/v1:Gateway", custom: true, inputs: { spec: { servers: [{ port: { number: 443, protocol: "HTTPS" }, hosts: ["*"], tls: { mode: "SIMPLE", credentialName: "cert" } }, { port: { number: 80, protocol: "HTTP" }, hosts: ["*"], tls: { httpsRedirect: true } }] } } },
            { urn: urn("kubernetes:core/v1:Service", `ingress-${i}`), type: "kubernetes:core/v1:Service", custom: true, inputs: { spec: { type: "LoadBalancer", loadBalancerSourceRanges: ["203.0.113.0/24"], selector: { istio: "ingressgateway" } } } },
        ];
    },
    (i) => [
        { urn: urn("aws:cloudwatch/logGroup:LogGroup", `logs-${i}`), type: "aws:cloudwatch/logGroup:LogGroup", custom: true, inputs: { retentionInDays: 30, tags: tags("logs", "DataPlaneCluster") } },
        { urn: urn("byoc:index:TailnetEndpoint", `ep-${i}`), type: "byoc:index:TailnetEndpoint", custom: false },
        { urn: urn("aws:eks/cluster:Cluster", `eks-${i}`), type: "aws:eks/cluster:Cluster", custom: true, inputs: { vpcConfig: { endpointPublicAccess: true, endpointPrivateAccess: true, publicAccessCidrs: ["198.51.100.0/28"], subnetIds: [U] } } },
    ],
];

function generate(n: number): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [{ urn: `${STACK}pulumi:pulumi:Stack::byoc-dataplane-bench`, type: "pulumi:pulumi:Stack", custom: false }];
    for (let i = 0; out.length < n; i++) out.push(...gens[i % gens.length](i));
    return out.slice(0, n);
}

interface ProcessRun {
    ms: number;
    code: number | null;
    rssMb: number;
    cpuMs: number;
    stdout: string;
}

/** One `byoc policy check` process: wall time around the spawn, its own peak RSS and CPU time. */
function checkProcess(file: string): ProcessRun {
    const r = measuredNode([path.join(ROOT, "cli", "byoc.js"), "policy", "check", file, "--json"], ROOT, 256 << 20);
    if (r.status !== 0 && r.status !== 1) throw new Error(`policy check exited ${r.status}: ${r.stderr}`);
    return { ms: r.ms, code: r.status, rssMb: r.usage.maxRSS / 1024, cpuMs: (r.usage.userCPUTime + r.usage.systemCPUTime) / 1000, stdout: r.stdout };
}

const rate = (ms: number) => Math.round(COUNT / (ms / 1000)).toLocaleString("en-US");

function main() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "byoc-policy-bench-"));
    const file = path.join(dir, "stack-export.json");
    const tiny = path.join(dir, "one-resource.json");
    const resources = generate(COUNT);
    const manifest = { time: new Date().toISOString(), magic: "", version: "v3.150.0" };
    fs.writeFileSync(file, JSON.stringify({ version: 3, deployment: { manifest, secrets_providers: { type: "passphrase", state: {} }, resources } }));
    fs.writeFileSync(tiny, JSON.stringify({ version: 3, deployment: { manifest, resources: resources.slice(0, 1) } }));
    const bytes = fs.statSync(file).size;
    resources.length = 0;

    // Whole process, alternating with a one-resource file (the fixed cost: node, commander, rules) so noise hits both.
    checkProcess(file); // warm the OS file cache and the compile cache
    const full: ProcessRun[] = [];
    const startup: ProcessRun[] = [];
    for (let i = 0; i < RUNS; i++) {
        full.push(checkProcess(file));
        startup.push(checkProcess(tiny));
    }
    const rep = JSON.parse(full[0].stdout);
    const wall = median(full.map((r) => r.ms));
    const best = Math.min(...full.map((r) => r.ms));
    const peak = Math.max(...full.map((r) => r.rssMb));
    const fixed = median(startup.map((r) => r.ms));

    // In-process phases of one check (after a warm-up), to show where the variable part goes.
    /* eslint-disable @typescript-eslint/no-var-requires */
    const { readSnapshotFile }: typeof import("../policies/snapshot") = require("../policies/snapshot");
    const { evaluatePolicies, loadPackConfig }: typeof import("../policies/engine") = require("../policies/engine");
    const phase = { read: [] as number[], evaluate: [] as number[], report: [] as number[] };
    for (let i = 0; i < 4; i++) {
        let t = process.hrtime.bigint();
        const lap = () => {
            const now = process.hrtime.bigint();
            const ms = Number(now - t) / 1e6;
            t = now;
            return ms;
        };
        const snap = readSnapshotFile(file);
        const read = lap();
        const report = evaluatePolicies(snap.resources, { env: "prod", config: loadPackConfig("prod") });
        const evaluate = lap();
        JSON.stringify(report, null, 2);
        const out = lap();
        if (i > 0) [phase.read, phase.evaluate, phase.report].forEach((xs, k) => xs.push([read, evaluate, out][k]));
    }
    if (process.env.KEEP_BENCH_FILE) console.log(`  file kept: ${file}`);
    else fs.rmSync(dir, { recursive: true, force: true });

    console.log(`byoc policy check benchmark: ${COUNT} resources (${(bytes / 1e6).toFixed(1)} MB stack export), ${rep.policyCount} policies, env ${rep.environment} (${rep.environmentSource})`);
    console.log(`  exit code ${full[0].code}, violations ${rep.violations.length} (mandatory ${rep.mandatoryCount}), malformed ${rep.errors.length}`);
    console.log(`  whole process (node cli/byoc.js policy check FILE --json), ${RUNS} runs: median ${wall.toFixed(0)} ms, best ${best.toFixed(0)} ms (${full.map((r) => r.ms.toFixed(0)).join(", ")})`);
    console.log(`  throughput: ${rate(wall)} resources/s (median; best ${rate(best)}); CPU per process median ${median(full.map((r) => r.cpuMs)).toFixed(0)} ms`);
    console.log(`  peak RSS: ${peak.toFixed(0)} MB (max of runs; median ${median(full.map((r) => r.rssMb)).toFixed(0)} MB); one-resource file: ${median(startup.map((r) => r.rssMb)).toFixed(0)} MB`);
    console.log(
        `  where the time goes: start-up (node, commander, rules; one-resource file) ${fixed.toFixed(0)} ms; in-process ` +
            `read + parse ${median(phase.read).toFixed(0)} ms, evaluate ${median(phase.evaluate).toFixed(0)} ms, JSON report ${median(phase.report).toFixed(0)} ms`,
    );
    console.log(`  load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} CPUs`);
    const ok = COUNT / (wall / 1000) >= 20000 && peak < 200;
    console.log(`  target ≥ 20,000 resources/s (median, whole process) and < 200 MB peak RSS: ${ok ? "met" : "NOT met"}`);
    if (rep.violations.length > 0) console.log(`  first violation: ${rep.violations[0].policy}: ${rep.violations[0].message.slice(0, 160)}…`);
}

main();
