import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { helmValuesProblems, KNOWN_CHARTS } from "../../policies/charts";
import { generate } from "../../policies/charts/generate";
import { UNKNOWN } from "./helpers";

const SHARED_CHARTS = path.resolve(__dirname, "../../../shared/charts");
const GENERATED = path.resolve(__dirname, "../../policies/charts");

const ISTIOD = { chart: "istiod", version: "1.26.2", repo: "https://istio-release.storage.googleapis.com/charts" };
const BASE = { chart: "base", version: "1.26.2", repo: "https://istio-release.storage.googleapis.com/charts" };
const CERT_MANAGER = { chart: "cert-manager", version: "v1.18.2", repo: "https://charts.jetstack.io" };
const KPS = { chart: "kube-prometheus-stack", version: "67.8.0", repo: "https://prometheus-community.github.io/helm-charts" };
const LBC = { chart: "aws-load-balancer-controller", version: "1.13.3", repo: "https://aws.github.io/eks-charts" };

function paths(problems: { path: string }[] | undefined): string[] {
    assert.ok(problems, "chart should be known");
    return problems.map((p) => p.path).sort();
}

describe("Helm values against the pinned charts (policies/charts)", () => {
    it("the committed values-keys.json is what generate.ts derives from shared/charts", function () {
        if (!fs.existsSync(SHARED_CHARTS)) this.skip();
        const files = generate(SHARED_CHARTS);
        assert.deepEqual(Object.keys(files), ["values-keys.json"]);
        for (const [name, text] of Object.entries(files)) {
            const committed = fs.readFileSync(path.join(GENERATED, name), "utf8");
            assert.ok(committed === text, `policies/charts/${name} is stale: run node --require ./cli/register.js policies/charts/generate.ts`);
        }
    });

    it("the generated facts carry no chart text: the cert-manager schema keeps structure keywords only", () => {
        const text = fs.readFileSync(path.join(GENERATED, "values-keys.json"), "utf8");
        assert.doesNotMatch(text, /##|ref: https?:/);
        const facts = JSON.parse(text);
        const schema = facts.charts["cert-manager@v1.18.2"].schema;
        const allowed = new Set(["type", "properties", "additionalProperties", "items", "enum", "$ref", "$defs"]);
        const seen = new Set<string>();
        const walk = (s: unknown): void => {
            if (s === null || typeof s !== "object" || Array.isArray(s)) return;
            for (const [k, v] of Object.entries(s)) {
                seen.add(k);
                assert.ok(allowed.has(k), `schema keyword ${k} should have been stripped`);
                if (k === "properties" || k === "$defs") Object.values(v as object).forEach(walk);
                else if (k === "items" || k === "additionalProperties") walk(v);
            }
        };
        walk(schema);
        assert.ok(seen.has("$defs") && seen.has("properties") && seen.has("additionalProperties"));
    });

    it("knows every chart the program pins, and says which subtrees it cannot check", () => {
        const ids = KNOWN_CHARTS.map((c) => `${c.chart}@${c.version}`).sort();
        assert.deepEqual(ids, ["aws-load-balancer-controller@1.13.3", "base@1.26.2", "cert-manager@v1.18.2", "istiod@1.26.2", "kube-prometheus-stack@67.8.0"]);
        const kps = KNOWN_CHARTS.find((c) => c.chart === "kube-prometheus-stack")!;
        assert.deepEqual([...kps.unchecked].sort(), ["crds", "grafana", "prometheus-windows-exporter"]);
        assert.equal(KNOWN_CHARTS.find((c) => c.chart === "cert-manager")!.checkedBy, "schema");
    });

    describe("istio (defaults under _internal_defaults_do_not_set, set at the top level)", () => {
        it("flags pilot.replicaCount (an IstioOperator path, not an istiod value) and names the top-level key", () => {
            const problems = helmValuesProblems(ISTIOD, { pilot: { replicaCount: 2 } })!;
            assert.deepEqual(paths(problems), ["pilot.replicaCount"]);
            assert.match(problems[0].message, /pilot/);
            assert.match(problems[0].message, /did you mean `replicaCount`\?/);
        });

        it("accepts the promoted keys at the top level", () => {
            assert.deepEqual(helmValuesProblems(ISTIOD, { replicaCount: 2, autoscaleMin: 2 }), []);
            assert.deepEqual(helmValuesProblems(ISTIOD, { global: { proxy: { logLevel: "info" } }, profile: "ambient" }), []);
            assert.deepEqual(helmValuesProblems(BASE, { defaultRevision: "default" }), []);
        });

        it("suggests the nearest key for a typo, and the nested path for a dotted key", () => {
            const typo = helmValuesProblems(ISTIOD, { autoscaleMn: 2 })!;
            assert.deepEqual(paths(typo), ["autoscaleMn"]);
            assert.match(typo[0].message, /did you mean `autoscaleMin`/);
            const dotted = helmValuesProblems(ISTIOD, { "global.proxy.logLevel": "info" })!;
            assert.deepEqual(paths(dotted), ['["global.proxy.logLevel"]']);
            assert.match(dotted[0].message, /`global\.proxy\.logLevel` \(nested maps/);
        });

        it("does not accept the wrapper itself", () => {
            assert.deepEqual(paths(helmValuesProblems(ISTIOD, { _internal_defaults_do_not_set: { replicaCount: 2 } })), ["_internal_defaults_do_not_set.replicaCount"]);
        });
    });

    describe("free-form maps", () => {
        it("accept any key below them: empty-map defaults, well-known names, whole-config paths", () => {
            assert.deepEqual(
                helmValuesProblems(ISTIOD, {
                    podAnnotations: { "sidecar.istio.io/inject": "false", anything: "x" },
                    nodeSelector: { "kubernetes.io/os": "linux" },
                    resources: { limits: { memory: "1Gi" } }, // non-empty default, free-form by name
                    meshConfig: { accessLogFile: "/dev/stdout", defaultConfig: { holdApplicationUntilProxyStarts: true } },
                }),
                [],
            );
            assert.deepEqual(
                helmValuesProblems(KPS, {
                    alertmanager: { config: { route: { receiver: "x", whatever: 1 }, receivers: [{ name: "x" }] } },
                    prometheus: { prometheusSpec: { podMetadata: { labels: { a: "b" } }, securityContext: { runAsUser: 1000, fsGroup: 2000 }, externalLabels: { x: "y" } } },
                    defaultRules: { disabled: { Watchdog: true } },
                }),
                [],
            );
            assert.deepEqual(helmValuesProblems(LBC, { defaultTags: { a: "b" }, podLabels: { c: "d" }, serviceAccount: { name: "x" } }), []);
        });

        it("a map set below a single value is a problem; a structured key below a free map is not checked", () => {
            assert.deepEqual(paths(helmValuesProblems(KPS, { prometheus: { prometheusSpec: { retention: { days: 10 } } } })), ["prometheus.prometheusSpec.retention"]);
            assert.deepEqual(paths(helmValuesProblems(LBC, { serviceAccount: "lbc" })), ["serviceAccount"]);
        });
    });

    describe("subcharts", () => {
        it("kube-state-metrics.* is checked against the subchart's own values (and the parent's overrides)", () => {
            assert.deepEqual(
                helmValuesProblems(KPS, {
                    "kube-state-metrics": { replicas: 2, autosharding: { enabled: false }, prometheus: { monitor: { enabled: true, interval: "30s" } } },
                    "prometheus-node-exporter": { hostNetwork: false, extraArgs: ["--x"] },
                }),
                [],
            );
            const problems = helmValuesProblems(KPS, { "kube-state-metrics": { replica: 2, prometheus: { monitor: { intervall: "30s" } } } })!;
            assert.deepEqual(paths(problems), ["kube-state-metrics.prometheus.monitor.intervall", "kube-state-metrics.replica"]);
            assert.match(problems.find((p) => p.path === "kube-state-metrics.replica")!.message, /did you mean `kube-state-metrics\.replicas`/);
        });

        it("subcharts whose values are not in shared/charts are allowed unchecked", () => {
            assert.deepEqual(helmValuesProblems(KPS, { grafana: { enabled: false, anyKey: { below: 1 } }, crds: { enabled: true } }), []);
        });
    });

    describe("cert-manager (its values.schema.json, with ajv)", () => {
        it("reports a type error and an unknown key", () => {
            const problems = helmValuesProblems(CERT_MANAGER, { replicaCount: "two", webhook: { replicas: 2 } })!;
            assert.deepEqual(paths(problems), ["replicaCount", "webhook.replicas"]);
            assert.match(problems.find((p) => p.path === "replicaCount")!.message, /number.*"two"/);
            assert.match(problems.find((p) => p.path === "webhook.replicas")!.message, /did you mean `webhook\.replicaCount`/);
        });

        it("accepts the chart's own keys", () => {
            assert.deepEqual(helmValuesProblems(CERT_MANAGER, { crds: { enabled: true, keep: true } }), []);
            assert.deepEqual(
                helmValuesProblems(CERT_MANAGER, { replicaCount: 2, podAnnotations: { a: "b" }, serviceAccount: { create: true, name: "cm" }, podDisruptionBudget: { enabled: true } }),
                [],
            );
            assert.deepEqual(paths(helmValuesProblems(CERT_MANAGER, { crds: { enabled: true, kep: true } })), ["crds.kep"]);
        });
    });

    it("skips subtrees whose value is a Pulumi unknown", () => {
        assert.deepEqual(helmValuesProblems(ISTIOD, { replicaCount: UNKNOWN, meshConfig: UNKNOWN, global: UNKNOWN }), []);
        assert.deepEqual(helmValuesProblems(LBC, { clusterName: UNKNOWN, serviceAccount: UNKNOWN }), []);
        assert.deepEqual(helmValuesProblems(CERT_MANAGER, { replicaCount: UNKNOWN, crds: UNKNOWN }), []);
        assert.deepEqual(helmValuesProblems(KPS, UNKNOWN), []);
        // an unknown key is still unknown when its value is not known
        assert.deepEqual(paths(helmValuesProblems(ISTIOD, { pilot: UNKNOWN })), ["pilot"]);
    });

    it("returns undefined for a chart, version or repository it does not know", () => {
        assert.equal(helmValuesProblems({ chart: "nginx", version: "1.0.0" }, { a: 1 }), undefined);
        assert.equal(helmValuesProblems({ chart: "istiod", version: "1.25.0" }, { a: 1 }), undefined);
        assert.equal(helmValuesProblems({ chart: "base", version: "1.26.2", repo: "https://charts.example.com" }, {}), undefined);
        assert.deepEqual(helmValuesProblems({ chart: "cert-manager", version: "1.18.2" }, {}), [], "a leading v is not part of the identity");
    });
});
