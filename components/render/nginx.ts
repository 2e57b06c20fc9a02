// nginx.conf for a tailnet endpoint's nginx pod. Two shapes:
//  - "terminate": nginx terminates the tailnet TLS session with the endpoint's own certificate (internal CA) and
//    proxies HTTP to the in-cluster target (optionally re-encrypting with a verified upstream certificate);
//  - "passthrough": nginx reads only the SNI of the ClientHello (`ssl_preread`) and forwards the untouched TLS
//    stream, so the engineer's client certificate is verified by the target itself (ClickHouse) — per-engineer
//    identity end to end, and nginx never holds a key that could impersonate anyone.
// Pure function: every value that lands in the file is validated, so config can't smuggle directives in.

export type NginxMode = "terminate" | "passthrough";

export interface NginxRoute {
    /** Port nginx listens on (the Tailscale agent forwards the tailnet port here). */
    listenPort: number;
    /** In-cluster target as host:port. */
    upstream: string;
}

export interface NginxSpec {
    mode: NginxMode;
    /** The endpoint's tailnet hostname: the TLS server name (SNI) accepted, with `aliases`. */
    serverName: string;
    /** Other names of the same endpoint (its tailnet device name, its MagicDNS FQDN); nothing else is answered. */
    aliases?: string[];
    routes: NginxRoute[];
    /** Address the listeners bind; 0.0.0.0 in the pod (the agent is another pod), 127.0.0.1 in tests. */
    listenAddress?: string;
    /** terminate: certificate and key files for serverName. */
    tls?: { certificate: string; key: string };
    /** terminate: re-encrypt to the upstream and verify its certificate against this CA and name. */
    upstreamTls?: { trustedCertificate: string; serverName: string };
    /** terminate: additionally require a client certificate from this CA file. */
    clientCertificateCa?: string;
    /** terminate: path prefixes answered with 403 (e.g. the Prometheus admin API). */
    denyPathPrefixes?: string[];
    /** Writable directory for the pid file and temp files (an emptyDir; the root filesystem is read-only). */
    runtimeDir: string;
    errorLog: string;
    accessLog: string;
    /** `load_module` paths (Debian builds the stream module as a dynamic module; nginx.org images don't need it). */
    modules?: string[];
    /** Seconds an idle proxied connection may stay open (kubectl logs -f, long queries). */
    idleTimeoutSeconds?: number;
    /**
     * File holding a `resolver …;` line, included in the stream/http block. Targets are resolved at request time
     * (not at startup), so nginx starts before its target exists and follows a Service that is re-created. In the
     * pod the container writes it from /etc/resolv.conf (kube-dns) before starting nginx.
     */
    resolverInclude: string;
}

const HOSTNAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)$/;
const PATH = /^\/[A-Za-z0-9._\/-]*$/;

function fail(key: string, value: unknown, allowed: string): never {
    throw new Error(`nginx config: ${key} = ${JSON.stringify(value)} ${allowed}`);
}

function checkPort(key: string, port: number): void {
    if (!Number.isInteger(port) || port < 1 || port > 65535) fail(key, port, "must be a TCP port 1–65535");
}

function checkHostPort(key: string, value: string): { host: string; port: number } {
    const i = value.lastIndexOf(":");
    const host = i > 0 ? value.slice(0, i) : "";
    const port = Number(value.slice(i + 1));
    if (i <= 0 || !(HOSTNAME.test(host) || IPV4.test(host))) fail(key, value, "must be host:port with a DNS name or IPv4 address");
    checkPort(key, port);
    return { host, port };
}

function checkPath(key: string, value: string | undefined): string {
    if (value === undefined || !PATH.test(value)) fail(key, value, "must be an absolute path of letters, digits, '.', '_', '-' and '/'");
    return value;
}

function validate(spec: NginxSpec): void {
    if (!HOSTNAME.test(spec.serverName)) fail("serverName", spec.serverName, "must be a lowercase DNS name");
    (spec.aliases ?? []).forEach((a, i) => {
        if (!HOSTNAME.test(a)) fail(`aliases[${i}]`, a, "must be a lowercase DNS name");
    });
    if (spec.routes.length === 0) fail("routes", spec.routes, "must list at least one route");
    const seen = new Set<number>();
    spec.routes.forEach((r, i) => {
        checkPort(`routes[${i}].listenPort`, r.listenPort);
        if (seen.has(r.listenPort)) fail(`routes[${i}].listenPort`, r.listenPort, "is used by another route");
        seen.add(r.listenPort);
        checkHostPort(`routes[${i}].upstream`, r.upstream);
    });
    const addr = spec.listenAddress ?? "0.0.0.0";
    if (!IPV4.test(addr)) fail("listenAddress", addr, "must be an IPv4 address");
    checkPath("runtimeDir", spec.runtimeDir);
    checkPath("resolverInclude", spec.resolverInclude);
    for (const key of ["errorLog", "accessLog"] as const) {
        if (spec[key] !== "stderr" && spec[key] !== "/dev/stdout") checkPath(key, spec[key]);
    }
    (spec.modules ?? []).forEach((m, i) => checkPath(`modules[${i}]`, m));
    if (spec.mode === "terminate") {
        if (!spec.tls) fail("tls", undefined, "is required when nginx terminates TLS");
        checkPath("tls.certificate", spec.tls.certificate);
        checkPath("tls.key", spec.tls.key);
        if (spec.upstreamTls) {
            checkPath("upstreamTls.trustedCertificate", spec.upstreamTls.trustedCertificate);
            if (!HOSTNAME.test(spec.upstreamTls.serverName)) fail("upstreamTls.serverName", spec.upstreamTls.serverName, "must be a DNS name");
        }
        if (spec.clientCertificateCa !== undefined) checkPath("clientCertificateCa", spec.clientCertificateCa);
        (spec.denyPathPrefixes ?? []).forEach((p, i) => checkPath(`denyPathPrefixes[${i}]`, p));
    } else {
        for (const key of ["tls", "upstreamTls", "clientCertificateCa", "denyPathPrefixes"] as const) {
            if (spec[key] !== undefined) fail(key, spec[key], "only applies when nginx terminates TLS; passthrough never sees the session");
        }
    }
    const idle = spec.idleTimeoutSeconds ?? 3600;
    if (!Number.isInteger(idle) || idle < 1 || idle > 86400) fail("idleTimeoutSeconds", idle, "must be an integer 1–86400");
}

const namesOf = (spec: NginxSpec) => [...new Set([spec.serverName, ...(spec.aliases ?? [])])];

const indent = (lines: string[], n = 1) => lines.map((l) => (l === "" ? l : "    ".repeat(n) + l));

/** Renders nginx.conf for one tailnet endpoint. Throws with the offending key on invalid input. */
export function renderNginxConfig(spec: NginxSpec): string {
    validate(spec);
    const addr = spec.listenAddress ?? "0.0.0.0";
    const idle = spec.idleTimeoutSeconds ?? 3600;
    const head = [
        "# Rendered by components/render/nginx.ts; do not edit by hand.",
        ...(spec.modules ?? []).map((m) => `load_module ${m};`),
        "worker_processes 1;",
        `pid ${spec.runtimeDir}/nginx.pid;`,
        `error_log ${spec.errorLog} warn;`,
        "",
        "events {",
        // Every proxied connection holds two (client and upstream); kubectl and the Pulumi provider keep watches open.
        "    worker_connections 4096;",
        "}",
        "",
    ];
    const body = spec.mode === "passthrough" ? passthrough(spec, addr, idle) : terminate(spec, addr, idle);
    return [...head, ...body, ""].join("\n");
}

function passthrough(spec: NginxSpec, addr: string, idle: number): string[] {
    const lines: string[] = [
        // One line per connection: which name was asked for and where it went (the audit trail on this side).
        "log_format tailnet '$remote_addr [$time_local] sni=\"$ssl_preread_server_name\" upstream=$upstream_addr status=$status sent=$bytes_sent received=$bytes_received duration=$session_time';",
        `access_log ${spec.accessLog} tailnet;`,
        `include ${spec.resolverInclude};`,
        "map_hash_bucket_size 128;",
        "",
        // Any other (or missing) server name goes to an upstream that is marked down: the connection is closed.
        "upstream reject {",
        "    server 127.0.0.1:1 down;",
        "}",
    ];
    for (const r of spec.routes) {
        lines.push(
            "",
            `map $ssl_preread_server_name $route_${r.listenPort} {`,
            ...namesOf(spec).map((n) => `    ${n} ${r.upstream};`),
            "    default reject;",
            "}",
            "",
            "server {",
            `    listen ${addr}:${r.listenPort};`,
            "    ssl_preread on;",
            `    proxy_pass $route_${r.listenPort};`,
            "    proxy_connect_timeout 5s;",
            `    proxy_timeout ${idle}s;`,
            "}",
        );
    }
    return ["stream {", ...indent(lines), "}"];
}

function terminate(spec: NginxSpec, addr: string, idle: number): string[] {
    const tls = spec.tls!;
    const rt = spec.runtimeDir;
    const lines: string[] = [
        "server_tokens off;",
        // Tailnet hostnames are long (k8s.<customer>.<region>.aws.<domain>); the 64-byte default bucket can't hold them.
        "server_names_hash_bucket_size 128;",
        `client_body_temp_path ${rt}/client_body;`,
        `proxy_temp_path ${rt}/proxy;`,
        `fastcgi_temp_path ${rt}/fastcgi;`,
        `uwsgi_temp_path ${rt}/uwsgi;`,
        `scgi_temp_path ${rt}/scgi;`,
        "log_format tailnet '$remote_addr [$time_local] \"$request\" $status $body_bytes_sent sni=\"$ssl_server_name\" client=\"$ssl_client_s_dn\" upstream=$upstream_addr duration=$request_time';",
        `access_log ${spec.accessLog} tailnet;`,
        `include ${spec.resolverInclude};`,
        "",
        // kubectl exec/attach/port-forward and watches upgrade the connection.
        "map $http_upgrade $connection_upgrade {",
        "    default upgrade;",
        "    '' close;",
        "}",
        "",
        // No body limit of nginx's own (1m by default answers 413 to a large CRD or Helm release Secret): the
        // targets enforce theirs (the API server: 3 MiB per object).
        "client_max_body_size 0;",
        "ssl_protocols TLSv1.2 TLSv1.3;",
        "ssl_prefer_server_ciphers off;",
        "ssl_session_tickets off;",
    ];
    for (const r of spec.routes) {
        const scheme = spec.upstreamTls ? "https" : "http";
        const location = [
            `set $target ${r.upstream};`,
            `proxy_pass ${scheme}://$target;`,
            ...(spec.upstreamTls
                ? [
                      "proxy_ssl_verify on;",
                      "proxy_ssl_verify_depth 3;",
                      `proxy_ssl_trusted_certificate ${spec.upstreamTls.trustedCertificate};`,
                      `proxy_ssl_name ${spec.upstreamTls.serverName};`,
                      "proxy_ssl_server_name on;",
                      "proxy_ssl_protocols TLSv1.2 TLSv1.3;",
                  ]
                : []),
            "proxy_http_version 1.1;",
            "proxy_set_header Upgrade $http_upgrade;",
            "proxy_set_header Connection $connection_upgrade;",
            "proxy_buffering off;",
            "proxy_request_buffering off;",
            "proxy_connect_timeout 5s;",
            `proxy_read_timeout ${idle}s;`,
            `proxy_send_timeout ${idle}s;`,
        ];
        lines.push(
            "",
            // Names other than the endpoint's (or no SNI at all) fail the handshake instead of getting a certificate;
            // a request whose Host differs from its SNI lands here too and is refused as misdirected.
            "server {",
            `    listen ${addr}:${r.listenPort} ssl default_server;`,
            "    ssl_reject_handshake on;",
            "    return 421;",
            "}",
            "",
            "server {",
            `    listen ${addr}:${r.listenPort} ssl;`,
            `    server_name ${namesOf(spec).join(" ")};`,
            `    ssl_certificate ${tls.certificate};`,
            `    ssl_certificate_key ${tls.key};`,
            ...(spec.clientCertificateCa ? [`    ssl_client_certificate ${spec.clientCertificateCa};`, "    ssl_verify_client on;"] : []),
            ...(spec.denyPathPrefixes ?? []).flatMap((p) => [`    location ^~ ${p} {`, "        return 403;", "    }"]),
            "    location / {",
            ...indent(location, 2),
            "    }",
            "}",
        );
    }
    return ["http {", ...indent(lines), "}"];
}
