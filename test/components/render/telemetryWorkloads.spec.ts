import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import YAML from "yaml";
import { renderAlertmanagerConfig } from "../../../components/render/alertmanager";
import { renderPrometheusRules } from "../../../components/render/prometheusRules";
import { KUBE_PROMETHEUS_STACK, kubePrometheusStackValues } from "../../../components/render/telemetryWorkloads";

// The chart's own values.yaml at the pinned version (shared/charts, read-only; absent in a user's clone).
const CHART_VALUES = path.resolve(__dirname, "../../../../shared/charts", `kube-prometheus-stack-${KUBE_PROMETHEUS_STACK.version}`, "values.yaml");
const chartDefaults = (): any => YAML.parse(fs.readFileSync(CHART_VALUES, "utf8"));

const values = (): any =>
    kubePrometheusStackValues({
        clusterName: "byoc-acme-prod", customer: "acme", alertmanagerConfig: renderAlertmanagerConfig({ webhookUrl: "https://alerts.example.com/hook" }),
        rules: renderPrometheusRules(), storageClassName: "sc", prometheusRetention: "15d", prometheusStorage: "100Gi",
        prometheusServiceAccount: "byoc-prometheus", thanosObjstoreSecret: { name: "thanos-objstore", key: "objstore.yml" }, replicas: 2,
    });

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
/** Helm's coalescing of user values over chart defaults: maps merge key by key, anything else replaces. */
function helmMerge(defaults: unknown, over: unknown): unknown {
    if (!isMap(defaults) || !isMap(over)) return over === undefined ? defaults : over;
    const out: Record<string, unknown> = { ...defaults };
    for (const [k, v] of Object.entries(over)) out[k] = helmMerge(defaults[k], v);
    return out;
}

/**
 * Monitors of control-plane components EKS runs out of the cluster's reach, with the defaultRules groups the
 * chart gates on them. kube-prometheus-stack-67.8.0 templates/prometheus/rules-1.14/{kubernetes-system-controller-manager,
 * kubernetes-system-scheduler,kube-scheduler.rules,etcd,kubernetes-system-kube-proxy}.yaml render a group only if
 * `defaultRules.create and <component>.enabled and defaultRules.rules.<group>`.
 */
const HIDDEN_ON_EKS: Record<string, string[]> = {
    kubeControllerManager: ["kubeControllerManager"],
    kubeScheduler: ["kubeSchedulerAlerting", "kubeSchedulerRecording"],
    kubeEtcd: ["etcd"],
    kubeProxy: ["kubeProxy"],
};

describe("render/telemetryWorkloads: kube-prometheus-stack values against the chart", () => {
    it("with the chart's defaults merged in, EKS's hidden control plane and kube-proxy are neither scraped nor alerted on", function () {
        if (!fs.existsSync(CHART_VALUES)) this.skip();
        const merged: any = helmMerge(chartDefaults(), values());
        for (const [component, groups] of Object.entries(HIDDEN_ON_EKS)) {
            assert.equal(merged[component].enabled, false, `${component}: its ServiceMonitor would find no target, so its …Down alert fires`);
            for (const g of groups) {
                const rendered = merged.defaultRules.create && merged[component].enabled && merged.defaultRules.rules[g];
                assert.equal(rendered, false, `defaultRules group ${g} would be rendered`);
                assert.equal(merged.defaultRules.rules[g], false, `defaultRules.rules.${g} is off in its own right too`);
            }
        }
        // What EKS does expose stays monitored.
        for (const c of ["kubeApiServer", "kubelet", "coreDns", "kubeStateMetrics", "nodeExporter"]) assert.equal(merged[c].enabled, true, c);
        assert.equal(merged.defaultRules.create, true);
    });

    it("every key it sets is one the chart reads (Helm silently ignores the others)", function () {
        if (!fs.existsSync(CHART_VALUES)) this.skip();
        const defaults = chartDefaults();
        // The chart's own default is an empty map or list where the subtree is the user's: stop there. Alertmanager's
        // config is Alertmanager's own format, not the chart's.
        const freeForm = new Set(["alertmanager.config"]);
        const unknown: string[] = [];
        const walk = (ours: unknown, chart: unknown, at: string) => {
            if (!isMap(ours)) return;
            for (const [k, v] of Object.entries(ours)) {
                const p = at ? `${at}.${k}` : k;
                if (!isMap(chart) || !(k in chart)) {
                    unknown.push(p);
                    continue;
                }
                const c = chart[k];
                const empty = (isMap(c) && Object.keys(c).length === 0) || (Array.isArray(c) && c.length === 0);
                if (!freeForm.has(p) && !empty) walk(v, c, p);
            }
        };
        walk(values(), defaults, "");
        assert.deepEqual(unknown, []);
    });
});
