// Test PKI made with the real openssl: CAs, server certificates, engineer CSRs and client certificates
// (valid, expired, from another CA). Everything lives in one temp directory the caller removes.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export interface KeyPair {
    cert: string;
    key: string;
    certPath: string;
    keyPath: string;
}

export class TestPki {
    readonly dir: string;
    private serial = 1;

    constructor(prefix = "pki-") {
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    }

    private openssl(args: string[], input?: string): string {
        return execFileSync("openssl", args, { cwd: this.dir, input, stdio: ["pipe", "pipe", "pipe"] }).toString();
    }

    private file(name: string): string {
        return path.join(this.dir, name);
    }

    private pair(name: string): KeyPair {
        const certPath = this.file(`${name}.crt`);
        const keyPath = this.file(`${name}.key`);
        return { certPath, keyPath, cert: fs.readFileSync(certPath, "utf8"), key: fs.readFileSync(keyPath, "utf8") };
    }

    /** A self-signed CA (EC P-256). */
    ca(name: string, cn = name): KeyPair {
        this.openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", `${name}.key`, "-out", `${name}.crt`, "-subj", `/CN=${cn}`, "-days", "2",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        return this.pair(name);
    }

    /** A key and CSR with the given CN; returns the CSR PEM and the key path. */
    csr(name: string, cn: string): { csrPem: string; keyPath: string; csrPath: string } {
        this.openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${cn}`]);
        return { csrPem: fs.readFileSync(this.file(`${name}.csr`), "utf8"), keyPath: this.file(`${name}.key`), csrPath: this.file(`${name}.csr`) };
    }

    /**
     * A CSR made however a test needs it: `subj` as openssl writes it ("/CN=a/CN=b", "/CN=a/O=system:masters"),
     * `key` an openssl -newkey argument ("rsa:1024", "ec" with `curve`, "ed25519"), `addext` request extensions
     * ("subjectAltName=DNS:x").
     */
    csrWith(name: string, opts: { subj: string; key?: string; curve?: string; addext?: string[] }): string {
        const key = opts.key ?? "ec";
        const keyArgs = key === "ec" ? ["-newkey", "ec", "-pkeyopt", `ec_paramgen_curve:${opts.curve ?? "P-256"}`] : ["-newkey", key];
        const ext = (opts.addext ?? []).flatMap((e) => ["-addext", e]);
        this.openssl(["req", "-new", ...keyArgs, "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", opts.subj, ...ext]);
        return fs.readFileSync(this.file(`${name}.csr`), "utf8");
    }

    /**
     * Signs `name`.csr with `ca`. `days` -1 gives a certificate whose notAfter is already past (expired).
     * `usage` server adds the DNS names as SANs; client sets clientAuth only.
     */
    sign(name: string, ca: KeyPair, usage: "server" | "client", opts: { dnsNames?: string[]; days?: number } = {}): KeyPair {
        const ext = this.file(`${name}.ext`);
        const lines = ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment"];
        if (usage === "server") {
            lines.push("extendedKeyUsage=serverAuth");
            lines.push(`subjectAltName=${(opts.dnsNames ?? []).map((d) => (/^\d+\.\d+\.\d+\.\d+$/.test(d) ? `IP:${d}` : `DNS:${d}`)).join(",")}`);
        } else {
            lines.push("extendedKeyUsage=clientAuth");
        }
        fs.writeFileSync(ext, lines.join("\n") + "\n");
        this.openssl([
            "x509", "-req", "-in", `${name}.csr`, "-CA", ca.certPath, "-CAkey", ca.keyPath, "-set_serial", String(this.serial++),
            "-days", String(opts.days ?? 1), "-extfile", ext, "-out", `${name}.crt`,
        ]);
        return this.pair(name);
    }

    server(name: string, ca: KeyPair, dnsNames: string[]): KeyPair {
        this.csr(name, dnsNames[0]);
        return this.sign(name, ca, "server", { dnsNames });
    }

    client(name: string, ca: KeyPair, cn: string, days = 1): KeyPair {
        this.csr(name, cn);
        return this.sign(name, ca, "client", { days });
    }

    cleanup(): void {
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

/** One CSR PEM for mock-runtime tests, generated once per process. */
let cachedCsr: Map<string, string> | undefined;
export function engineerCsr(cn: string): string {
    cachedCsr ??= new Map();
    const hit = cachedCsr.get(cn);
    if (hit) return hit;
    const pki = new TestPki("pki-csr-");
    try {
        const pem = pki.csr("engineer", cn).csrPem;
        cachedCsr.set(cn, pem);
        return pem;
    } finally {
        pki.cleanup();
    }
}

/** The CSR with one byte of its signature flipped: well-formed, but no longer signed by its key. */
export function tamperedCsr(pem: string): string {
    const der = Buffer.from(pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");
    der[der.length - 3] ^= 0x01;
    return `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString("base64").match(/.{1,64}/g)!.join("\n")}\n-----END CERTIFICATE REQUEST-----\n`;
}
