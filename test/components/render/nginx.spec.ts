// The tailnet nginx config with the real Debian nginx: `nginx -t` on what the endpoints deploy, then live runs on
// loopback with an openssl-made PKI — TLS terminated for the Kubernetes API (and metrics), and SNI passthrough to
// a stand-in ClickHouse that verifies engineer client certificates itself.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as net from "net";
import * as path from "path";
import * as tls from "tls";
import { NginxSpec, renderNginxConfig } from "../../../components/render/nginx";
import { endpointNginxSpec, tailnetHostname } from "../../../components/TailnetEndpoint";
import { endpointKinds } from "../../../stacks/schema";
import { KeyPair, TestPki } from "../../support/pki";
import { freePort, NginxProcess, nginxAvailable, nginxTest, STREAM_MODULE } from "../../support/tailnetNginx";

const K8S = tailnetHostname("kubernetes-api", "acme", "us-east-1", "byoc.example-prd.com");
const CH = tailnetHostname("clickhouse-system", "acme", "us-east-1", "byoc.example-prd.com");
const METRICS = tailnetHostname("metrics", "acme", "us-east-1", "byoc.example-prd.com");

/** Rewrites the pod paths of a spec to a test prefix (certs, runtime dir, logs) and loads the stream module. */
function localize(spec: NginxSpec, prefix: string, files: { cert?: string; key?: string; upstreamCa?: string }): NginxSpec {
    const runtimeDir = path.join(prefix, "run");
    fs.mkdirSync(runtimeDir, { recursive: true });
    const resolverInclude = path.join(prefix, "resolver.conf");
    // Never queried by these tests (upstreams are loopback IPs); present because the config resolves at request time.
    fs.writeFileSync(resolverInclude, "resolver 127.0.0.1 valid=10s ipv6=off;\n");
    return {
        ...spec,
        tls: spec.tls ? { certificate: files.cert!, key: files.key! } : undefined,
        upstreamTls: spec.upstreamTls ? { ...spec.upstreamTls, trustedCertificate: files.upstreamCa! } : undefined,
        runtimeDir,
        resolverInclude,
        errorLog: path.join(prefix, "error.log"),
        accessLog: path.join(prefix, "access.log"),
        modules: spec.mode === "passthrough" ? [STREAM_MODULE] : [],
    };
}

function writeConf(prefix: string, text: string): string {
    const file = path.join(prefix, "nginx.conf");
    fs.writeFileSync(file, text);
    return file;
}

interface Talk {
    data: string;
    error?: string;
    authorized?: boolean;
}

/** Opens TLS to nginx, sends a line, collects what comes back until close (or 5 s). */
function talk(port: number, opts: tls.ConnectionOptions): Promise<Talk> {
    return new Promise((resolve) => {
        let data = "";
        let error: string | undefined;
        let done = false;
        const s = tls.connect({ host: "127.0.0.1", port, ...opts });
        const finish = () => {
            if (done) return;
            done = true;
            clearTimeout(timer);
            resolve({ data, error, authorized: s.authorized });
        };
        const timer = setTimeout(() => {
            error ??= "timeout";
            s.destroy();
            finish();
        }, 5_000);
        s.on("secureConnect", () => s.write("ping\n"));
        s.on("data", (d) => (data += d.toString()));
        s.on("error", (e) => (error ??= e.message));
        s.on("close", finish);
    });
}

function get(port: number, pathName: string, servername: string, ca: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
        const req = https.request({ host: "127.0.0.1", port, path: pathName, servername, ca, headers: { host: servername, ...headers }, agent: false }, (res) => {
            let body = "";
            res.on("data", (d) => (body += d.toString()));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on("error", reject);
        req.setTimeout(5_000, () => req.destroy(new Error("timeout")));
        req.end();
    });
}

const listen = (server: net.Server): Promise<number> =>
    new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port)));
/** Closes a stand-in server, dropping connections nginx may still hold open. */
function close(server: net.Server | undefined): Promise<void> {
    if (!server?.listening) return Promise.resolve();
    const done = new Promise<void>((resolve) => server.close(() => resolve()));
    (server as net.Server & { closeAllConnections?: () => void }).closeAllConnections?.();
    for (const s of sockets.get(server) ?? []) s.destroy();
    return done;
}
const sockets = new WeakMap<net.Server, Set<net.Socket>>();
function track<T extends net.Server>(server: T): T {
    const set = new Set<net.Socket>();
    sockets.set(server, set);
    server.on("connection", (s: net.Socket) => {
        set.add(s);
        s.on("close", () => set.delete(s));
    });
    return server;
}

describe("render/nginx with the real nginx", function () {
    this.timeout(60_000);
    let pki: TestPki;
    let internalCa: KeyPair;
    let clusterCa: KeyPair;
    let troubleshootingCa: KeyPair;
    let otherCa: KeyPair;

    before(function () {
        assert.ok(nginxAvailable(), "nginx is not installed: .ci/run installs the Debian packages nginx and libnginx-mod-stream");
        pki = new TestPki("pki-tailnet-");
        internalCa = pki.ca("internal-ca", "byoc acme tailnet endpoints CA");
        clusterCa = pki.ca("cluster-ca", "kubernetes");
        troubleshootingCa = pki.ca("troubleshooting-ca", "byoc acme troubleshooting CA");
        otherCa = pki.ca("other-ca", "someone else's CA");
    });
    after(() => pki?.cleanup());

    /** Starts the real nginx on loopback with an endpoint's deployed config, its server certificate from the internal CA. */
    async function startEndpointNginx(kind: "kubernetes-api" | "metrics", host: string, label: string, upstream: number): Promise<{ nginx: NginxProcess; port: number }> {
        const port = await freePort();
        const prefix = fs.mkdtempSync(path.join(pki.dir, `live-${label}-`));
        const cert = pki.server(`${label}-nginx`, internalCa, [host]);
        const spec = localize(endpointNginxSpec(kind, host, [{ tailnetPort: 443, nginxPort: port, target: `127.0.0.1:${upstream}` }]), prefix, {
            cert: cert.certPath, key: cert.keyPath, upstreamCa: kind === "kubernetes-api" ? clusterCa.certPath : undefined,
        });
        const nginx = new NginxProcess(prefix, writeConf(prefix, renderNginxConfig({ ...spec, listenAddress: "127.0.0.1" })));
        await nginx.start([port]);
        return { nginx, port };
    }

    describe("nginx -t on the configs the endpoints deploy", () => {
        for (const kind of endpointKinds) {
            it(`${kind}: syntax and semantics are accepted`, () => {
                const host = tailnetHostname(kind, "acme", "us-east-1", "byoc.example-prd.com");
                const prefix = fs.mkdtempSync(path.join(pki.dir, `t-${kind}-`));
                const server = pki.server(`t-${kind}`, internalCa, [host]);
                const spec = localize(endpointNginxSpec(kind, host), prefix, { cert: server.certPath, key: server.keyPath, upstreamCa: clusterCa.certPath });
                const out = nginxTest(prefix, writeConf(prefix, renderNginxConfig(spec)));
                assert.match(out, /test is successful/);
            });
        }

        it("nginx -t rejects a config whose certificate does not exist (the test is real)", () => {
            const prefix = fs.mkdtempSync(path.join(pki.dir, "t-missing-"));
            const spec = localize(endpointNginxSpec("kubernetes-api", K8S), prefix, { cert: path.join(prefix, "nope.crt"), key: path.join(prefix, "nope.key"), upstreamCa: clusterCa.certPath });
            assert.throws(() => nginxTest(prefix, writeConf(prefix, renderNginxConfig(spec))), /nope\.crt/);
        });
    });

    describe("kubernetes-api: TLS terminated at nginx, re-encrypted to a verified API server", () => {
        let nginx: NginxProcess | undefined;
        let apiServer: https.Server | undefined;
        let port = 0;
        const seen: { path?: string; auth?: string; host?: string }[] = [];

        before(async () => {
            const apiCert = pki.server("apiserver", clusterCa, ["kubernetes.default.svc", "kubernetes.default.svc.cluster.local"]);
            apiServer = track(https.createServer({ key: apiCert.key, cert: apiCert.cert }, (req, res) => {
                seen.push({ path: req.url, auth: req.headers.authorization, host: req.headers.host });
                res.writeHead(200, { "content-type": "application/json" });
                res.end(JSON.stringify({ kind: "NamespaceList", path: req.url }));
            }));
            ({ nginx, port } = await startEndpointNginx("kubernetes-api", K8S, "k8s", await listen(apiServer)));
        });
        after(async () => {
            await nginx?.stop();
            await close(apiServer);
        });

        it("a client that trusts the internal CA reaches the API server stand-in, with its bearer token passed through", async () => {
            const res = await get(port, "/api/v1/namespaces", K8S, internalCa.cert, { authorization: "Bearer k8s-aws-v1.token" });
            assert.equal(res.status, 200, res.body);
            assert.equal(JSON.parse(res.body).path, "/api/v1/namespaces");
            assert.equal(seen.at(-1)?.auth, "Bearer k8s-aws-v1.token");
        });

        it("the certificate nginx presents is for the tailnet hostname, from the internal CA", async () => {
            const t = await talk(port, { servername: K8S, ca: internalCa.cert });
            assert.equal(t.authorized, true, t.error);
            await assert.rejects(get(port, "/", K8S, otherCa.cert), /self[- ]signed|unable to verify|certificate/i);
        });

        it("a request whose Host is not the tailnet name is refused as misdirected (421), never proxied", async () => {
            const before = seen.length;
            const res = await get(port, "/api", K8S, internalCa.cert, { host: "kubernetes.default.svc" });
            assert.equal(res.status, 421);
            assert.equal(seen.length, before);
        });

        it("another server name (or none) fails the TLS handshake", async () => {
            await assert.rejects(get(port, "/", "evil.example.com", internalCa.cert), /alert|handshake|unrecognized name|socket hang up|ECONNRESET/i);
            const t = await talk(port, { ca: internalCa.cert, rejectUnauthorized: false });
            assert.equal(t.data, "");
            assert.ok(t.error, "expected the handshake without SNI to fail");
        });
    });

    describe("kubernetes-api: nginx refuses an upstream whose certificate it cannot verify", () => {
        let nginx: NginxProcess | undefined;
        let impostor: https.Server | undefined;
        let port = 0;

        before(async () => {
            const fake = pki.server("impostor", otherCa, ["kubernetes.default.svc"]);
            impostor = track(https.createServer({ key: fake.key, cert: fake.cert }, (_req, res) => res.end("impostor")));
            ({ nginx, port } = await startEndpointNginx("kubernetes-api", K8S, "impostor", await listen(impostor)));
        });
        after(async () => {
            await nginx?.stop();
            await close(impostor);
        });

        it("answers 502 instead of talking to it", async () => {
            const res = await get(port, "/api", K8S, internalCa.cert);
            assert.equal(res.status, 502);
            assert.doesNotMatch(res.body, /impostor/);
        });
    });

    describe("metrics: TLS terminated, admin API refused", () => {
        let nginx: NginxProcess | undefined;
        let thanos: http.Server | undefined;
        let port = 0;
        const paths: string[] = [];

        before(async () => {
            thanos = track(http.createServer((req, res) => {
                paths.push(req.url ?? "");
                res.end(JSON.stringify({ status: "success", path: req.url }));
            }));
            ({ nginx, port } = await startEndpointNginx("metrics", METRICS, "metrics", await listen(thanos)));
        });
        after(async () => {
            await nginx?.stop();
            await close(thanos);
        });

        it("proxies queries and answers 403 for /api/v1/admin/ without reaching the upstream", async () => {
            const ok = await get(port, "/api/v1/query?query=up", METRICS, internalCa.cert);
            assert.equal(ok.status, 200);
            assert.equal(JSON.parse(ok.body).path, "/api/v1/query?query=up");
            const admin = await get(port, "/api/v1/admin/tsdb/delete_series?match[]=up", METRICS, internalCa.cert);
            assert.equal(admin.status, 403);
            assert.ok(!paths.some((p) => p.startsWith("/api/v1/admin")), `upstream saw ${paths.join(", ")}`);
        });
    });

    describe("clickhouse-system: SNI passthrough, ClickHouse verifies the engineer's certificate", () => {
        let nginx: NginxProcess | undefined;
        let clickhouse: tls.Server | undefined;
        let port = 0;
        let valid: KeyPair;
        let expired: KeyPair;
        let foreign: KeyPair;
        const accepted: string[] = [];

        before(async () => {
            valid = pki.client("alice", troubleshootingCa, "alice@example.com");
            expired = pki.client("alice-expired", troubleshootingCa, "alice@example.com", -1);
            foreign = pki.client("mallory", otherCa, "alice@example.com");
            const chCert = pki.server("clickhouse", internalCa, [CH]);
            // Stand-in for ClickHouse's secure port with verificationMode strict against the troubleshooting CA.
            clickhouse = track(tls.createServer({ key: chCert.key, cert: chCert.cert, requestCert: true, rejectUnauthorized: true, ca: troubleshootingCa.cert }, (s) => {
                const cn = String(s.getPeerCertificate().subject?.CN ?? "");
                accepted.push(cn);
                s.end(`hello ${cn}\n`);
            }));
            clickhouse.on("tlsClientError", () => undefined);
            const upstream = await listen(clickhouse);
            port = await freePort();
            const httpsPort = await freePort();
            const prefix = fs.mkdtempSync(path.join(pki.dir, "live-ch-"));
            const spec = localize(
                endpointNginxSpec("clickhouse-system", CH, [
                    { tailnetPort: 9440, nginxPort: port, target: `127.0.0.1:${upstream}` },
                    { tailnetPort: 8443, nginxPort: httpsPort, target: `127.0.0.1:${upstream}` },
                ]),
                prefix,
                {},
            );
            nginx = new NginxProcess(prefix, writeConf(prefix, renderNginxConfig({ ...spec, listenAddress: "127.0.0.1" })));
            await nginx.start([port, httpsPort]);
        });
        after(async () => {
            await nginx?.stop();
            await close(clickhouse);
        });

        it("accepts a valid engineer certificate, end to end (the server sees the engineer's CN)", async () => {
            const t = await talk(port, { servername: CH, ca: internalCa.cert, cert: valid.cert, key: valid.key });
            assert.equal(t.data, "hello alice@example.com\n", t.error);
            assert.equal(t.authorized, true, "the client verified ClickHouse's own certificate for the tailnet name");
            assert.deepEqual(accepted, ["alice@example.com"]);
        });

        it("rejects an expired engineer certificate", async () => {
            const t = await talk(port, { servername: CH, ca: internalCa.cert, cert: expired.cert, key: expired.key });
            assert.equal(t.data, "", "ClickHouse must not answer");
            assert.deepEqual(accepted, ["alice@example.com"]);
        });

        it("rejects a certificate from another CA, even with the engineer's CN", async () => {
            const t = await talk(port, { servername: CH, ca: internalCa.cert, cert: foreign.cert, key: foreign.key });
            assert.equal(t.data, "", "ClickHouse must not answer");
            assert.deepEqual(accepted, ["alice@example.com"]);
        });

        it("rejects a connection without a client certificate", async () => {
            const t = await talk(port, { servername: CH, ca: internalCa.cert });
            assert.equal(t.data, "");
            assert.deepEqual(accepted, ["alice@example.com"]);
        });

        it("closes connections for another server name without reaching ClickHouse", async () => {
            const t = await talk(port, { servername: "ch.other.us-east-1.aws.byoc.example-prd.com", ca: internalCa.cert, cert: valid.cert, key: valid.key });
            assert.equal(t.data, "");
            assert.ok(t.error, "the connection is closed before any TLS handshake");
            assert.deepEqual(accepted, ["alice@example.com"]);
        });
    });

    describe("renderer input validation", () => {
        const base = endpointNginxSpec("metrics", METRICS);
        it("refuses values that could inject directives, naming the key", () => {
            assert.throws(() => renderNginxConfig({ ...base, serverName: "x; include /etc/passwd" }), /serverName/);
            assert.throws(() => renderNginxConfig({ ...base, routes: [{ listenPort: 8443, upstream: "a.b:80; evil" }] }), /routes\[0\]\.upstream/);
            assert.throws(() => renderNginxConfig({ ...base, routes: [{ listenPort: 70000, upstream: "a.b:80" }] }), /routes\[0\]\.listenPort.*1–65535/);
            assert.throws(() => renderNginxConfig({ ...base, denyPathPrefixes: ["/a { return 200; }"] }), /denyPathPrefixes\[0\]/);
            assert.throws(() => renderNginxConfig({ ...endpointNginxSpec("clickhouse-system", CH), clientCertificateCa: "/x" }), /passthrough/);
        });
    });
});
