import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stringify } from "yaml";
import { RECORDS, renderPrometheusRules, renderPrometheusRulesYaml } from "../../../components/render/prometheusRules";

const PROMTOOL = process.env.PROMTOOL ?? "/usr/bin/promtool";

const BILLING_DESCRIPTION = (age: string) =>
    `Billing scraper clickhouse/chi-0 last uploaded ${age} ago (limit 1800s). Check its role (s3:PutObject on the customer prefix), the S3 gateway endpoint policy and its NetworkPolicy.`;

/** promtool unit tests for every alert and recording rule shipped. */
const unitTests = {
    rule_files: ["rules.yml"],
    evaluation_interval: "1m",
    tests: [
        {
            name: "Watchdog always fires",
            interval: "1m",
            input_series: [],
            alert_rule_test: [0, 60, 600].map((m) => ({
                eval_time: `${m}m`,
                alertname: "Watchdog",
                exp_alerts: [{
                    exp_labels: { severity: "none" },
                    exp_annotations: {
                        summary: "Heartbeat: the alerting pipeline of this data plane works.",
                        description: "Always firing. Alertmanager re-sends it every minute to the provider's heartbeat receiver; its absence there means alerts from this data plane are not arriving.",
                    },
                }],
            })),
        },
        {
            name: "billing uploads: age recorded, stale after 30 minutes (+5m for), quiet while fresh",
            interval: "1m",
            input_series: [
                // Uploads every minute for 10 minutes (timestamp = seconds since 0), then stop.
                { series: 'byoc_billing_last_upload_success_timestamp_seconds{namespace="clickhouse",pod="chi-0"}', values: "0+60x10 600x60" },
            ],
            promql_expr_test: [
                { expr: RECORDS.billingUploadAge, eval_time: "5m", exp_samples: [{ labels: `${RECORDS.billingUploadAge}{namespace="clickhouse",pod="chi-0"}`, value: 0 }] },
                { expr: RECORDS.billingUploadAge, eval_time: "30m", exp_samples: [{ labels: `${RECORDS.billingUploadAge}{namespace="clickhouse",pod="chi-0"}`, value: 1200 }] },
            ],
            alert_rule_test: [
                { eval_time: "10m", alertname: "BillingUploadStale", exp_alerts: [] },
                // Age passes 1800 s at 40m; firing needs 5 more minutes.
                { eval_time: "43m", alertname: "BillingUploadStale", exp_alerts: [] },
                {
                    eval_time: "46m",
                    alertname: "BillingUploadStale",
                    exp_alerts: [{
                        exp_labels: { severity: "critical", namespace: "clickhouse", pod: "chi-0" },
                        exp_annotations: { summary: "Billing data is not reaching the provider's bucket.", description: BILLING_DESCRIPTION("36m 0s") },
                    }],
                },
            ],
        },
        {
            name: "State Exporter: down when not scraped healthy for 10 minutes",
            interval: "1m",
            input_series: [{ series: 'up{job="state-exporter",namespace="byoc-telemetry",pod="state-exporter-0"}', values: "1x5 0x20" }],
            alert_rule_test: [
                { eval_time: "5m", alertname: "StateExporterDown", exp_alerts: [] },
                { eval_time: "14m", alertname: "StateExporterDown", exp_alerts: [] },
                {
                    eval_time: "17m",
                    alertname: "StateExporterDown",
                    exp_alerts: [{
                        exp_labels: { severity: "critical" }, // absent() of a filtered vector carries no labels
                        exp_annotations: {
                            summary: "The State Exporter is not running or not scraped.",
                            description: "No healthy State Exporter target for 10 minutes: the provider no longer receives service state.",
                        },
                    }],
                },
            ],
        },
        {
            name: "State Exporter: send errors for 15 minutes warn",
            interval: "1m",
            input_series: [{ series: 'byoc_state_exporter_send_errors_total{namespace="byoc-telemetry",pod="state-exporter-0"}', values: "0x10 0+6x40" }],
            promql_expr_test: [
                { expr: RECORDS.stateSendErrorRate, eval_time: "5m", exp_samples: [{ labels: `${RECORDS.stateSendErrorRate}{namespace="byoc-telemetry"}`, value: 0 }] },
                { expr: RECORDS.stateSendErrorRate, eval_time: "30m", exp_samples: [{ labels: `${RECORDS.stateSendErrorRate}{namespace="byoc-telemetry"}`, value: 0.1 }] },
            ],
            alert_rule_test: [
                { eval_time: "20m", alertname: "StateExporterSendFailing", exp_alerts: [] },
                {
                    eval_time: "35m",
                    alertname: "StateExporterSendFailing",
                    exp_alerts: [{
                        exp_labels: { severity: "warning", namespace: "byoc-telemetry" },
                        exp_annotations: {
                            summary: "The State Exporter fails to send to the provider's SQS queue.",
                            description: "100m send errors per second in byoc-telemetry for 15 minutes. Check its role (sqs:SendMessage on the queue) and egress to SQS.",
                        },
                    }],
                },
            ],
        },
        {
            name: "Thanos upload failures warn; a healthy sidecar is quiet",
            interval: "1m",
            input_series: [
                { series: 'thanos_shipper_upload_failures_total{namespace="byoc-telemetry",pod="prometheus-0"}', values: "0x10 1x50" },
                { series: 'thanos_shipper_upload_failures_total{namespace="byoc-telemetry",pod="prometheus-1"}', values: "0x60" },
            ],
            alert_rule_test: [
                { eval_time: "10m", alertname: "ThanosSidecarUploadFailing", exp_alerts: [] },
                {
                    eval_time: "30m",
                    alertname: "ThanosSidecarUploadFailing",
                    exp_alerts: [{
                        exp_labels: { severity: "warning", namespace: "byoc-telemetry", pod: "prometheus-0" },
                        exp_annotations: {
                            summary: "Thanos cannot upload metric blocks to the customer's bucket.",
                            description: "byoc-telemetry/prometheus-0 failed 1 block uploads in the last hour. Metrics stay on the Prometheus volume until it recovers.",
                        },
                    }],
                },
            ],
        },
    ],
};

describe("render/prometheusRules", () => {
    it("ships the Watchdog, two recording rules and the telemetry-path alerts with severities", () => {
        const { groups } = renderPrometheusRules();
        const alerts = groups.flatMap((g) => g.rules).filter((r): r is Extract<typeof r, { alert: string }> => "alert" in r);
        assert.deepEqual(alerts.map((a) => [a.alert, a.labels.severity]), [
            ["Watchdog", "none"],
            ["BillingUploadStale", "critical"],
            ["StateExporterDown", "critical"],
            ["StateExporterSendFailing", "warning"],
            ["ThanosSidecarUploadFailing", "warning"],
        ]);
        assert.deepEqual(groups.flatMap((g) => g.rules).filter((r) => "record" in r).map((r) => (r as { record: string }).record), [RECORDS.billingUploadAge, RECORDS.stateSendErrorRate]);
    });

    it("rejects nonsense options, naming them", () => {
        assert.throws(() => renderPrometheusRules({ billingStaleSeconds: 5 }), /billingStaleSeconds 5 must be .* at least 60/);
        assert.throws(() => renderPrometheusRules({ stateExporterJob: 'x"} or vector(1) #' }), /stateExporterJob .* must be a plain job name/);
    });

    describe("with the real promtool", () => {
        let dir: string;
        before(() => {
            if (!fs.existsSync(PROMTOOL)) throw new Error(`${PROMTOOL} not found: install the Debian package prometheus (.ci/run does)`);
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "byoc-rules-"));
            fs.writeFileSync(path.join(dir, "rules.yml"), renderPrometheusRulesYaml());
            fs.writeFileSync(path.join(dir, "rules.test.yml"), stringify(unitTests, { lineWidth: 0 }));
        });
        after(() => fs.rmSync(dir, { recursive: true, force: true }));

        it("promtool check rules accepts every rule", () => {
            const r = spawnSync(PROMTOOL, ["check", "rules", path.join(dir, "rules.yml")], { encoding: "utf8" });
            assert.equal(r.status, 0, r.stdout + r.stderr);
            assert.match(r.stdout, /SUCCESS: 7 rules found/);
        });

        it("promtool test rules: every alert and recording rule behaves as specified", () => {
            const r = spawnSync(PROMTOOL, ["test", "rules", "rules.test.yml"], { cwd: dir, encoding: "utf8" });
            assert.equal(r.status, 0, r.stdout + r.stderr);
            assert.match(r.stdout, /SUCCESS/);
        });

        it("promtool test rules fails when an expectation is wrong (the check is real)", () => {
            const wrong = structuredClone(unitTests);
            (wrong.tests[1].alert_rule_test as any[])[0].exp_alerts = [{ exp_labels: { severity: "critical", namespace: "clickhouse", pod: "chi-0" } }];
            fs.writeFileSync(path.join(dir, "wrong.test.yml"), stringify(wrong, { lineWidth: 0 }));
            const r = spawnSync(PROMTOOL, ["test", "rules", "wrong.test.yml"], { cwd: dir, encoding: "utf8" });
            assert.notEqual(r.status, 0);
        });
    });
});
