import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { assertHttpsUrl, RECEIVERS, renderAlertmanagerConfig, renderAlertmanagerYaml } from "../../../components/render/alertmanager";

const WEBHOOK = "https://alerts.example.com/hooks/byoc";
const AMTOOL = process.env.AMTOOL ?? "/usr/bin/amtool";

describe("render/alertmanager", () => {
    describe("HTTPS only", () => {
        for (const [url, message] of [
            ["http://alerts.example.com/hook", /uses http; alerts leave the VPC over HTTPS only/],
            ["ftp://alerts.example.com/hook", /uses ftp/],
            ["alerts.example.com/hook", /is not a URL/],
            ["https://user:pass@alerts.example.com/hook", /embeds credentials/],
        ] as const) {
            it(`rejects ${url}`, () => assert.throws(() => renderAlertmanagerConfig({ webhookUrl: url }), message));
        }
        it("names the key and the value", () => {
            assert.throws(() => assertHttpsUrl("http://x.example.com", "telemetry.alertWebhookUrl"), /^Error: telemetry\.alertWebhookUrl "http:\/\/x\.example\.com"/);
        });
        it("rejects a plain-http heartbeat URL too", () => {
            assert.throws(() => renderAlertmanagerConfig({ webhookUrl: WEBHOOK, heartbeatUrl: "http://hb.example.com" }), /heartbeatUrl .* uses http/);
        });
        it("every webhook verifies TLS ≥ 1.2 and refuses redirects; no http:// anywhere", () => {
            const cfg = renderAlertmanagerConfig({ webhookUrl: WEBHOOK });
            const hooks = cfg.receivers.flatMap((r) => r.webhook_configs ?? []);
            assert.equal(hooks.length, 2);
            for (const h of hooks) {
                assert.match(h.url, /^https:\/\//);
                assert.deepEqual(h.http_config, { follow_redirects: false, enable_http2: true, tls_config: { min_version: "TLS12", insecure_skip_verify: false } });
            }
            assert.doesNotMatch(renderAlertmanagerYaml({ webhookUrl: WEBHOOK }), /http:\/\//);
        });
    });

    it("groups by alertname/cluster/namespace, critical inhibits warning of the same alert, resolved alerts are sent", () => {
        const cfg = renderAlertmanagerConfig({ webhookUrl: WEBHOOK });
        assert.deepEqual(cfg.route.group_by, ["alertname", "cluster", "namespace"]);
        assert.deepEqual([cfg.route.group_wait, cfg.route.group_interval, cfg.route.repeat_interval], ["30s", "5m", "4h"]);
        assert.deepEqual(cfg.inhibit_rules[0], { source_matchers: ['severity="critical"'], target_matchers: ['severity=~"warning|info"'], equal: ["alertname", "cluster", "namespace"] });
        assert.equal(cfg.receivers.find((r) => r.name === RECEIVERS.webhook)!.webhook_configs![0].send_resolved, true);
    });

    it("rejects a malformed duration", () => {
        assert.throws(() => renderAlertmanagerConfig({ webhookUrl: WEBHOOK, repeatInterval: "four hours" }), /repeatInterval "four hours" is not a duration/);
    });

    it("the YAML is the config", () => {
        assert.deepEqual(parse(renderAlertmanagerYaml({ webhookUrl: WEBHOOK })), renderAlertmanagerConfig({ webhookUrl: WEBHOOK }));
    });

    describe("with the real amtool", () => {
        let dir: string;
        let file: string;
        before(function () {
            if (!fs.existsSync(AMTOOL)) throw new Error(`${AMTOOL} not found: install the Debian package prometheus-alertmanager (.ci/run does)`);
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "byoc-am-"));
            file = path.join(dir, "alertmanager.yml");
            fs.writeFileSync(file, renderAlertmanagerYaml({ webhookUrl: WEBHOOK }));
        });
        after(() => fs.rmSync(dir, { recursive: true, force: true }));

        const routesTest = (receiver: string, labels: string[]) =>
            spawnSync(AMTOOL, ["config", "routes", "test", `--config.file=${file}`, `--verify.receivers=${receiver}`, ...labels], { encoding: "utf8" });

        it("amtool check-config accepts the rendered configuration", () => {
            const out = execFileSync(AMTOOL, ["check-config", file], { encoding: "utf8" });
            assert.match(out, /SUCCESS/);
            assert.match(out, /3 inhibit rules/);
            assert.match(out, /3 receivers/);
        });

        it("a critical alert reaches the webhook receiver", () => {
            const r = routesTest(RECEIVERS.webhook, ["alertname=ClickHouseReplicaDown", "severity=critical", "cluster=byoc-acme-prod", "namespace=clickhouse"]);
            assert.equal(r.status, 0, r.stdout + r.stderr);
            assert.equal(r.stdout.trim(), RECEIVERS.webhook);
        });

        it("a warning reaches the webhook receiver too", () => {
            const r = routesTest(RECEIVERS.webhook, ["alertname=StateExporterSendFailing", "severity=warning"]);
            assert.equal(r.status, 0, r.stdout + r.stderr);
        });

        it("the Watchdog goes to the heartbeat receiver, InfoInhibitor nowhere", () => {
            const hb = routesTest(RECEIVERS.heartbeat, ["alertname=Watchdog", "severity=none"]);
            assert.equal(hb.status, 0, hb.stdout + hb.stderr);
            const ii = routesTest(RECEIVERS.blackhole, ["alertname=InfoInhibitor", "severity=none"]);
            assert.equal(ii.status, 0, ii.stdout + ii.stderr);
        });

        it("amtool notices a wrong expectation (the check is real)", () => {
            const r = routesTest(RECEIVERS.blackhole, ["alertname=ClickHouseReplicaDown", "severity=critical"]);
            assert.notEqual(r.status, 0);
        });
    });
});
