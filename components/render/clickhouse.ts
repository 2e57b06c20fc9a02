// ClickHouse configuration for troubleshooting access, as plain functions:
//  - users.d: one user per engineer, authenticated only by a client certificate whose subject CN is the
//    engineer's e-mail, on a read-only profile, with `GRANT SELECT ON system.*` and nothing else;
//  - config.d: the server's openSSL block verifying client certificates strictly against the troubleshooting CA.
// The ClickHouse operator mounts both (and the CA file) from the ConfigMap TroubleshootingAccess creates.

export const TROUBLESHOOTING_PROFILE = "troubleshooting_readonly";
export const SYSTEM_GRANT = "GRANT SELECT ON system.*";

export interface TroubleshootingUser {
    /** ClickHouse user name (see clickhouseUserName). */
    name: string;
    /** The certificate subject CN that authenticates as this user (the engineer's e-mail). */
    commonName: string;
    /** Shown as a comment: when the grant behind this user ends. */
    notAfter?: string;
}

export interface UsersXmlOptions {
    /** Longest a troubleshooting query may run, seconds. */
    maxExecutionTimeSeconds?: number;
}

const USER_NAME = /^[a-z][a-z0-9_]{0,62}$/;
// Subject CNs we accept: what an e-mail address needs, nothing XML- or DN-special.
const COMMON_NAME = /^[A-Za-z0-9._%+@-]{1,64}$/;

/** alice.smith@example.com → ts_alice_smith_example_com: a stable, XML-safe ClickHouse user name. */
export function clickhouseUserName(engineer: string): string {
    const name = `ts_${engineer.toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "")}`;
    return name.slice(0, 63);
}

function escapeXml(text: string): string {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;");
}

/** users.d XML. Throws naming the user when a name or CN is unusable or two users share one. */
export function renderClickhouseUsersXml(users: TroubleshootingUser[], opts: UsersXmlOptions = {}): string {
    const names = new Set<string>();
    const cns = new Set<string>();
    for (const u of users) {
        if (!USER_NAME.test(u.name)) throw new Error(`ClickHouse users.d: user name ${JSON.stringify(u.name)} must match ${USER_NAME} (lowercase letters, digits, '_')`);
        if (!COMMON_NAME.test(u.commonName)) {
            throw new Error(`ClickHouse users.d: user ${u.name} common name ${JSON.stringify(u.commonName)} must be an e-mail-like CN of at most 64 characters`);
        }
        if (names.has(u.name)) throw new Error(`ClickHouse users.d: user name ${u.name} appears twice; one user per engineer`);
        if (cns.has(u.commonName)) throw new Error(`ClickHouse users.d: common name ${u.commonName} maps to two users; a certificate must identify exactly one user`);
        names.add(u.name);
        cns.add(u.commonName);
    }
    const maxTime = opts.maxExecutionTimeSeconds ?? 300;
    if (!Number.isInteger(maxTime) || maxTime < 1) throw new Error(`ClickHouse users.d: maxExecutionTimeSeconds = ${maxTime} must be a positive integer`);
    const lines = [
        '<?xml version="1.0"?>',
        "<!-- Rendered by components/render/clickhouse.ts: troubleshooting users, certificate-only, read-only, system tables only. -->",
        "<clickhouse>",
        "    <profiles>",
        `        <${TROUBLESHOOTING_PROFILE}>`,
        "            <readonly>1</readonly>",
        `            <max_execution_time>${maxTime}</max_execution_time>`,
        `        </${TROUBLESHOOTING_PROFILE}>`,
        "    </profiles>",
        "    <users>",
    ];
    for (const u of users) {
        lines.push(
            `        <${u.name}>`,
            ...(u.notAfter ? [`            <!-- grant ends ${escapeXml(u.notAfter).replace(/--/g, "- -")} -->`] : []),
            "            <ssl_certificates>",
            `                <common_name>${escapeXml(u.commonName)}</common_name>`,
            "            </ssl_certificates>",
            `            <profile>${TROUBLESHOOTING_PROFILE}</profile>`,
            "            <quota>default</quota>",
            // Reachability is decided by the tailnet ACL and the client certificate; the source seen here is nginx.
            "            <networks>",
            "                <ip>::/0</ip>",
            "            </networks>",
            "            <access_management>0</access_management>",
            "            <grants>",
            `                <query>${SYSTEM_GRANT}</query>`,
            "            </grants>",
            `        </${u.name}>`,
        );
    }
    lines.push("    </users>", "</clickhouse>", "");
    return lines.join("\n");
}

export interface OpenSslXmlOptions {
    /** Path of the troubleshooting CA certificate inside the ClickHouse pod. */
    caConfig: string;
    /** strict: a client certificate is required and must chain to caConfig. */
    verificationMode?: "strict" | "relaxed";
}

/** config.d XML for ClickHouse's TLS server: client certificates verified against the troubleshooting CA only. */
export function renderClickhouseOpenSslXml(opts: OpenSslXmlOptions): string {
    if (!/^\/[A-Za-z0-9._\/-]+$/.test(opts.caConfig)) throw new Error(`ClickHouse openSSL: caConfig ${JSON.stringify(opts.caConfig)} must be an absolute path`);
    const mode = opts.verificationMode ?? "strict";
    return [
        '<?xml version="1.0"?>',
        "<!-- Rendered by components/render/clickhouse.ts: client certificates must chain to the troubleshooting CA. -->",
        "<clickhouse>",
        "    <openSSL>",
        "        <server>",
        `            <verificationMode>${mode}</verificationMode>`,
        `            <caConfig>${opts.caConfig}</caConfig>`,
        // Only the troubleshooting CA: public CAs must not be able to mint a certificate for an engineer's CN.
        "            <loadDefaultCAFile>false</loadDefaultCAFile>",
        "            <disableProtocols>sslv2,sslv3,tlsv1,tlsv1_1</disableProtocols>",
        "            <preferServerCiphers>true</preferServerCiphers>",
        "        </server>",
        "    </openSSL>",
        "</clickhouse>",
        "",
    ].join("\n");
}
