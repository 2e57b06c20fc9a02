// The one check of an engineer's certificate signing request, shared by the portal (when the request is made)
// and TroubleshootingAccess (for every grant that would get a certificate, hand-written ones included), so a CSR
// the portal accepts is exactly one the component signs — no grant can pass one and fail the other.
//
// What it demands, and why:
//  - one PEM block "-----BEGIN CERTIFICATE REQUEST-----" and nothing else (the tls provider reads only that
//    preamble; "NEW CERTIFICATE REQUEST" or PEM headers would make every `up` fail), one DER structure, no
//    trailing bytes;
//  - a subject of exactly one attribute, CN, equal to the engineer's e-mail byte for byte: ClickHouse maps the
//    certificate to a user by CN, and the signer copies the whole subject (O=system:masters would come along);
//  - no CSR attributes at all (extensionRequest would ask for SANs, CA:TRUE or other usages the signer copies;
//    challengePassword has no use here);
//  - a strong key: RSA 2048–8192 bits, EC P-256 or P-384, or Ed25519;
//  - a valid self-signature with that key (proof of possession), checked by Node's crypto.
// Pure: PEM text in, problems out (parsing by PKI.js, signatures by node:crypto); no I/O, no clock.
import { createPublicKey, KeyObject, verify } from "crypto";
import type * as Pkijs from "pkijs";

// Loaded on first use (~45 ms): a stack without active grants — most previews — never needs it.
let pkijsModule: typeof Pkijs | undefined;
const pkijs = (): typeof Pkijs => (pkijsModule ??= require("pkijs") as typeof Pkijs);

/** Largest CSR PEM accepted (an RSA-8192 CSR is about 2.5 KB). */
export const MAX_CSR_PEM_BYTES = 16 * 1024;

const CN = "2.5.4.3";
const PEM = /^-----BEGIN CERTIFICATE REQUEST-----\r?\n((?:[A-Za-z0-9+/=]+\r?\n)+)-----END CERTIFICATE REQUEST-----\r?\n?$/;
/** Signature algorithms by OID: the hash node:crypto verifies with (null: Ed25519 needs none), and the key type. */
const SIGNATURES: Record<string, { hash: string | null; key: "rsa" | "ec" | "ed25519"; name: string }> = {
    "1.2.840.113549.1.1.11": { hash: "sha256", key: "rsa", name: "sha256WithRSAEncryption" },
    "1.2.840.113549.1.1.12": { hash: "sha384", key: "rsa", name: "sha384WithRSAEncryption" },
    "1.2.840.113549.1.1.13": { hash: "sha512", key: "rsa", name: "sha512WithRSAEncryption" },
    "1.2.840.10045.4.3.2": { hash: "sha256", key: "ec", name: "ecdsa-with-SHA256" },
    "1.2.840.10045.4.3.3": { hash: "sha384", key: "ec", name: "ecdsa-with-SHA384" },
    "1.2.840.10045.4.3.4": { hash: "sha512", key: "ec", name: "ecdsa-with-SHA512" },
    "1.3.101.112": { hash: null, key: "ed25519", name: "Ed25519" },
};
const CURVES: Record<string, string> = { prime256v1: "P-256", secp384r1: "P-384" };
/** Names for the subject attributes and CSR attributes people put in by mistake (or on purpose). */
const OID_NAMES: Record<string, string> = {
    "2.5.4.3": "CN",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "2.5.4.6": "C",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    "1.2.840.113549.1.9.1": "emailAddress",
    "1.2.840.113549.1.9.14": "extensionRequest (e.g. subjectAltName, basicConstraints)",
    "1.2.840.113549.1.9.7": "challengePassword",
};
/** Universal tags of the string types a CN may use (UTF8String, PrintableString, IA5String). */
const STRING_TAGS = new Set([12, 19, 22]);

export interface CsrFacts {
    commonName: string;
    /** "EC P-256", "RSA 3072", "Ed25519". */
    key: string;
    signature: string;
}

export type CsrCheck = { ok: true; facts: CsrFacts } | { ok: false; problems: string[] };

/**
 * Checks `pem` as the CSR of `engineer` (the e-mail the grant names). Every problem found is listed, each a
 * sentence that says what to do; a CSR that cannot be read at all gives one problem.
 */
export function checkEngineerCsr(pem: unknown, engineer: string): CsrCheck {
    const fix = `make a new one: openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout me.key -out me.csr -subj "/CN=${engineer}"`;
    if (typeof pem !== "string") return { ok: false, problems: ["must be a PEM certificate signing request (text)"] };
    if (Buffer.byteLength(pem, "utf8") > MAX_CSR_PEM_BYTES) return { ok: false, problems: [`is ${Buffer.byteLength(pem, "utf8")} bytes; a CSR is at most ${MAX_CSR_PEM_BYTES} bytes`] };
    const m = PEM.exec(pem.replace(/^\s+|\s+$/g, "") + "\n");
    if (!m) {
        return { ok: false, problems: [`must be exactly one PEM block "-----BEGIN CERTIFICATE REQUEST-----" … "-----END CERTIFICATE REQUEST-----" with only base64 lines between (no "NEW CERTIFICATE REQUEST", no PEM headers, nothing around it); ${fix}`] };
    }
    const body = m[1].replace(/\s+/g, "");
    const der = Buffer.from(body, "base64");
    if (der.toString("base64") !== body) return { ok: false, problems: [`its base64 body is damaged; ${fix}`] };
    let csr: Pkijs.CertificationRequest;
    try {
        csr = pkijs().CertificationRequest.fromBER(new Uint8Array(der));
    } catch (err) {
        return { ok: false, problems: [`is not a PKCS#10 certificate signing request (${(err as Error).message}); ${fix}`] };
    }
    if (outerLength(der) !== der.length) return { ok: false, problems: [`has bytes after the request's DER structure; ${fix}`] };

    const problems: string[] = [];
    if (csr.version !== 0) problems.push(`has version ${csr.version}; PKCS#10 requests are version 0 (v1)`);

    // Subject: exactly CN=<engineer>.
    const names = csr.subject.typesAndValues;
    const cns = names.filter((n) => n.type === CN);
    const others = names.filter((n) => n.type !== CN);
    let commonName = "";
    if (cns.length !== 1) {
        problems.push(
            cns.length === 0
                ? `has no subject CN; it must be your e-mail ${engineer}`
                : `has ${cns.length} subject CNs (${cns.map((n) => JSON.stringify(stringOf(n.value) ?? "?")).join(", ")}); it must have exactly one, your e-mail ${engineer}`,
        );
    } else {
        const value = stringOf(cns[0].value);
        if (value === undefined) problems.push(`its subject CN is not a text string (UTF8String, PrintableString or IA5String)`);
        else if (value !== engineer) problems.push(`its subject CN is ${JSON.stringify(value)}; it must be exactly ${JSON.stringify(engineer)} (same case, no spaces): certificates map to users by CN`);
        else commonName = value;
    }
    if (others.length > 0) {
        problems.push(`its subject has ${others.map((n) => `${OID_NAMES[n.type] ?? n.type}=${JSON.stringify(stringOf(n.value) ?? "?")}`).join(", ")}; the subject must be only CN=${engineer} (the signer copies the whole subject)`);
    }
    const attributes = csr.attributes ?? [];
    if (attributes.length > 0) {
        problems.push(`requests ${attributes.map((a) => OID_NAMES[a.type] ?? a.type).join(", ")}; a troubleshooting CSR carries no attributes or extensions (no SANs): the certificate's usages are fixed by the CA`);
    }

    // Key: type and strength.
    let key: KeyObject | undefined;
    let keyText = "";
    try {
        key = createPublicKey({ key: Buffer.from(csr.subjectPublicKeyInfo.toSchema().toBER(false)), format: "der", type: "spki" });
    } catch (err) {
        problems.push(`its public key cannot be read (${(err as Error).message})`);
    }
    if (key) {
        const type = key.asymmetricKeyType;
        const d = key.asymmetricKeyDetails ?? {};
        if (type === "rsa") {
            keyText = `RSA ${d.modulusLength}`;
            const e = d.publicExponent ?? 0n;
            if ((d.modulusLength ?? 0) < 2048 || (d.modulusLength ?? 0) > 8192) problems.push(`has a ${d.modulusLength}-bit RSA key; use RSA 2048–8192 bits, EC P-256/P-384 or Ed25519`);
            if (e < 3n || e % 2n === 0n) problems.push(`has an RSA public exponent of ${e}; use 65537`);
        } else if (type === "ec") {
            const curve = CURVES[d.namedCurve ?? ""];
            keyText = `EC ${curve ?? d.namedCurve}`;
            if (!curve) problems.push(`has an EC key on curve ${d.namedCurve}; use P-256 or P-384 (or RSA ≥ 2048, Ed25519)`);
        } else if (type === "ed25519") {
            keyText = "Ed25519";
        } else {
            keyText = String(type);
            problems.push(`has a ${type} key; use EC P-256/P-384, RSA ≥ 2048 bits or Ed25519`);
        }
    }

    // Proof of possession: the request is signed by the key it carries.
    const alg = SIGNATURES[csr.signatureAlgorithm.algorithmId];
    if (!alg) {
        problems.push(`is signed with algorithm ${csr.signatureAlgorithm.algorithmId}; use SHA-256/384/512 with RSA or ECDSA, or Ed25519`);
    } else if (key) {
        if (alg.key !== key.asymmetricKeyType) {
            problems.push(`is signed with ${alg.name}, which does not match its ${keyText} key`);
        } else {
            let good = false;
            try {
                good = verify(alg.hash, Buffer.from(csr.tbsView), key, Buffer.from(csr.signatureValue.valueBlock.valueHexView));
            } catch {
                good = false;
            }
            if (!good) problems.push(`its signature does not verify with its own public key (altered or not signed by that key's owner); ${fix}`);
        }
    }
    if (problems.length > 0) return { ok: false, problems };
    return { ok: true, facts: { commonName, key: keyText, signature: alg!.name } };
}

/** The text of a directory string, or undefined for types that are not plain text. */
function stringOf(value: unknown): string | undefined {
    const v = value as { idBlock?: { tagClass?: number; tagNumber?: number; isConstructed?: boolean }; valueBlock?: { value?: unknown } } | undefined;
    const id = v?.idBlock;
    const text = v?.valueBlock?.value;
    return id?.tagClass === 1 && !id.isConstructed && STRING_TAGS.has(id.tagNumber ?? -1) && typeof text === "string" ? text : undefined;
}

/** Total length (header + content) of the DER element at the start of `der`; -1 when unreadable. */
function outerLength(der: Buffer): number {
    if (der.length < 2) return -1;
    const first = der[1];
    if (first < 0x80) return 2 + first;
    const n = first & 0x7f;
    if (n === 0 || n > 4 || der.length < 2 + n) return -1;
    let len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[2 + i];
    return 2 + n + len;
}
