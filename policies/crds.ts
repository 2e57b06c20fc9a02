/**
 * Which Helm chart (at which pinned version) installs which CustomResourceDefinitions, and under which values.
 * Facts derived from the charts' sources at the pinned tags (the files themselves are not copied here):
 *
 *  - istio `base` 1.26.2 — istio/istio @ 1.26.2 : manifests/charts/base. CRDs are rendered from
 *    files/crd-all.gen.yaml by templates/crds.yaml, i.e. they are TEMPLATES (Helm installs AND upgrades them; the
 *    release's `skipCrds` has no effect). Both branches of `base.enableCRDTemplates` render them; only
 *    `base.excludedCRDs` (CRD names) removes one.
 *  - cert-manager v1.18.2 — cert-manager/cert-manager @ v1.18.2 : deploy/crds/*.yaml, packaged by make/manifests.mk
 *    into the chart's templates/crds.yaml, each wrapped in `{{- if or .Values.crds.enabled .Values.installCRDs }}`.
 *    Templates (upgraded by Helm), but OFF by default (`crds.enabled: false`, `installCRDs: false`).
 *  - kube-prometheus-stack 67.8.0 — prometheus-community/helm-charts @ kube-prometheus-stack-67.8.0 :
 *    charts/kube-prometheus-stack/charts/crds/crds/*.yaml, the `crds` subchart (`condition: crds.enabled`, default
 *    true). A `crds/` directory: Helm installs them on first install only, never upgrades them, and skips them with
 *    `skipCrds`.
 *  - aws-load-balancer-controller 1.13.3 — kubernetes-sigs/aws-load-balancer-controller @ v2.13.3 :
 *    helm/aws-load-balancer-controller/crds/crds.yaml. A `crds/` directory (install only, not upgraded, `skipCrds`).
 *
 * Served versions are the CRDs' `spec.versions[].served`.
 */
import { bool, get, isUnknown, Obj } from "./rules/util";

export interface CrdKind {
    kind: string;
    /** CRD plural (the CRD's name is `<plural>.<group>`). */
    plural: string;
    versions: readonly string[];
}

export interface ChartCrds {
    /** Chart name (last segment of the release's `chart`). */
    chart: string;
    version: string;
    /** Repositories that publish this chart (informational; a release from another repo still matches by name). */
    repos: readonly string[];
    /** For a generic chart name (istio's `base`): the release's repo or chart string must match this. */
    requires?: RegExp;
    /** "templates": rendered as ordinary objects (upgraded); "crds-dir": Helm's crds/ directory (install only, honours skipCrds). */
    placement: "templates" | "crds-dir";
    groups: Readonly<Record<string, readonly CrdKind[]>>;
    /**
     * Whether the release's values install the CRDs: true / false, a string explaining why not, or undefined when a
     * value deciding it is unknown during a preview. Absent = always installed.
     */
    installs?(values: Obj): boolean | string | undefined;
    /** CRD names (`<plural>.<group>`) the values exclude. */
    excluded?(values: Obj): ReadonlySet<string>;
}

const k = (kind: string, plural: string, ...versions: string[]): CrdKind => ({ kind, plural, versions });

export const CHART_CRDS: readonly ChartCrds[] = [
    {
        chart: "base",
        version: "1.26.2",
        repos: ["https://istio-release.storage.googleapis.com/charts"],
        requires: /istio/i,
        placement: "templates",
        groups: {
            "extensions.istio.io": [k("WasmPlugin", "wasmplugins", "v1alpha1")],
            "networking.istio.io": [
                k("DestinationRule", "destinationrules", "v1", "v1alpha3", "v1beta1"),
                k("EnvoyFilter", "envoyfilters", "v1alpha3"),
                k("Gateway", "gateways", "v1", "v1alpha3", "v1beta1"),
                k("ProxyConfig", "proxyconfigs", "v1beta1"),
                k("ServiceEntry", "serviceentries", "v1", "v1alpha3", "v1beta1"),
                k("Sidecar", "sidecars", "v1", "v1alpha3", "v1beta1"),
                k("VirtualService", "virtualservices", "v1", "v1alpha3", "v1beta1"),
                k("WorkloadEntry", "workloadentries", "v1", "v1alpha3", "v1beta1"),
                k("WorkloadGroup", "workloadgroups", "v1", "v1alpha3", "v1beta1"),
            ],
            "security.istio.io": [
                k("AuthorizationPolicy", "authorizationpolicies", "v1", "v1beta1"),
                k("PeerAuthentication", "peerauthentications", "v1", "v1beta1"),
                k("RequestAuthentication", "requestauthentications", "v1", "v1beta1"),
            ],
            "telemetry.istio.io": [k("Telemetry", "telemetries", "v1", "v1alpha1")],
        },
        excluded(values) {
            const ex = get(values, "base", "excludedCRDs");
            return new Set(Array.isArray(ex) ? ex.filter((x): x is string => typeof x === "string") : []);
        },
    },
    {
        chart: "cert-manager",
        version: "v1.18.2",
        repos: ["https://charts.jetstack.io", "oci://quay.io/jetstack/charts"],
        placement: "templates",
        groups: {
            "cert-manager.io": [
                k("Certificate", "certificates", "v1"),
                k("CertificateRequest", "certificaterequests", "v1"),
                k("ClusterIssuer", "clusterissuers", "v1"),
                k("Issuer", "issuers", "v1"),
            ],
            "acme.cert-manager.io": [k("Challenge", "challenges", "v1"), k("Order", "orders", "v1")],
        },
        installs(values) {
            const enabled = get(values, "crds", "enabled");
            const legacy = values.installCRDs;
            if (isUnknown(enabled) || isUnknown(legacy)) return undefined;
            if (bool(enabled, false) === true || bool(legacy, false) === true) return true;
            return "crds.enabled is not true (the chart's default is false)";
        },
    },
    {
        chart: "kube-prometheus-stack",
        version: "67.8.0",
        repos: ["https://prometheus-community.github.io/helm-charts", "oci://ghcr.io/prometheus-community/charts"],
        placement: "crds-dir",
        groups: {
            "monitoring.coreos.com": [
                k("Alertmanager", "alertmanagers", "v1"),
                k("AlertmanagerConfig", "alertmanagerconfigs", "v1alpha1"),
                k("PodMonitor", "podmonitors", "v1"),
                k("Probe", "probes", "v1"),
                k("Prometheus", "prometheuses", "v1"),
                k("PrometheusAgent", "prometheusagents", "v1alpha1"),
                k("PrometheusRule", "prometheusrules", "v1"),
                k("ScrapeConfig", "scrapeconfigs", "v1alpha1"),
                k("ServiceMonitor", "servicemonitors", "v1"),
                k("ThanosRuler", "thanosrulers", "v1"),
            ],
        },
        installs(values) {
            const enabled = get(values, "crds", "enabled");
            if (isUnknown(enabled)) return undefined;
            return bool(enabled, true) === true ? true : "crds.enabled is false (the crds subchart is disabled)";
        },
    },
    {
        chart: "aws-load-balancer-controller",
        version: "1.13.3",
        repos: ["https://aws.github.io/eks-charts"],
        placement: "crds-dir",
        groups: {
            "elbv2.k8s.aws": [k("IngressClassParams", "ingressclassparams", "v1beta1"), k("TargetGroupBinding", "targetgroupbindings", "v1alpha1", "v1beta1")],
        },
    },
];

const norm = (v: string) => v.trim().replace(/^v/, "");

/** The chart name of a release's `chart` input ("cert-manager", "jetstack/cert-manager", "oci://…/cert-manager"). */
export function chartName(chart: string): string {
    return chart.replace(/\/+$/, "").split("/").pop() ?? chart;
}

/**
 * The CRD facts for a release: the exact chart@version, or, for a known chart at another (or no) version, the
 * pinned entry with `exact: false` (group-level facts; kinds and versions may differ).
 */
export function chartCrdsFor(chart: string, version: string | undefined, repo?: string): { entry: ChartCrds; exact: boolean } | undefined {
    const name = chartName(chart);
    let byName: ChartCrds | undefined;
    for (const e of CHART_CRDS) {
        if (e.chart !== name) continue;
        if (e.requires && !e.requires.test(`${repo ?? ""} ${chart}`)) continue;
        if (version !== undefined && norm(e.version) === norm(version)) return { entry: e, exact: true };
        byName ??= e;
    }
    return byName ? { entry: byName, exact: false } : undefined;
}
