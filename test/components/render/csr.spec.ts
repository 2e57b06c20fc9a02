// The shared CSR check (components/render/csr.ts) on requests made by the real openssl: what a troubleshooting
// certificate may be signed from, and one reason per thing wrong.
import { strict as assert } from "assert";
import { checkEngineerCsr, MAX_CSR_PEM_BYTES } from "../../../components/render/csr";
import { tamperedCsr, TestPki } from "../../support/pki";

describe("checkEngineerCsr (shared by the portal and TroubleshootingAccess)", () => {
    const me = "alice@example.com";
    let pki: TestPki;
    const csr: Record<string, string> = {};
    before(() => {
        pki = new TestPki("pki-check-");
        csr.ec256 = pki.csrWith("ec256", { subj: `/CN=${me}` });
        csr.ec384 = pki.csrWith("ec384", { subj: `/CN=${me}`, curve: "P-384" });
        csr.ec521 = pki.csrWith("ec521", { subj: `/CN=${me}`, curve: "P-521" });
        csr.rsa2048 = pki.csrWith("rsa2048", { subj: `/CN=${me}`, key: "rsa:2048" });
        csr.rsa1024 = pki.csrWith("rsa1024", { subj: `/CN=${me}`, key: "rsa:1024" });
        csr.ed25519 = pki.csrWith("ed25519", { subj: `/CN=${me}`, key: "ed25519" });
        csr.twoCn = pki.csrWith("twoCn", { subj: `/CN=${me}/CN=mallory@example.com` });
        csr.masters = pki.csrWith("masters", { subj: `/CN=${me}/O=system:masters` });
        csr.san = pki.csrWith("san", { subj: `/CN=${me}`, addext: ["subjectAltName=DNS:clickhouse.example.com,email:mallory@example.com"] });
        csr.ca = pki.csrWith("ca", { subj: `/CN=${me}`, addext: ["basicConstraints=critical,CA:TRUE"] });
        csr.upper = pki.csrWith("upper", { subj: "/CN=Alice@example.com" });
        csr.spaced = pki.csrWith("spaced", { subj: `/CN=${me} ` });
        csr.noCn = pki.csrWith("noCn", { subj: "/O=example" });
    });
    after(() => pki.cleanup());

    it("accepts exactly CN=<e-mail> with EC P-256/P-384, RSA ≥ 2048 or Ed25519, self-signed", () => {
        for (const k of ["ec256", "ec384", "rsa2048", "ed25519"]) {
            const r = checkEngineerCsr(csr[k], me);
            assert.ok(r.ok, `${k}: ${JSON.stringify(r)}`);
            assert.equal(r.facts.commonName, me);
        }
        assert.equal((checkEngineerCsr(csr.ec256, me) as any).facts.key, "EC P-256");
        assert.ok(checkEngineerCsr(csr.ec256.replace(/\n/g, "\r\n"), me).ok, "CRLF line ends are fine");
    });

    const refused: [string, RegExp][] = [
        ["twoCn", /has 2 subject CNs \("alice@example.com", "mallory@example.com"\)/],
        ["masters", /subject has O="system:masters"; the subject must be only CN=alice@example.com/],
        ["san", /requests extensionRequest .*no SANs/],
        ["ca", /requests extensionRequest/],
        ["rsa1024", /1024-bit RSA key/],
        ["ec521", /curve secp521r1/],
        ["upper", /CN is "Alice@example.com"; it must be exactly "alice@example.com"/],
        ["spaced", /CN is "alice@example.com "; it must be exactly/],
        ["noCn", /has no subject CN/],
    ];
    for (const [k, why] of refused) {
        it(`refuses ${k}`, () => {
            const r = checkEngineerCsr(csr[k], me);
            assert.equal(r.ok, false);
            assert.match((r as any).problems.join("\n"), why);
        });
    }

    it("refuses a CSR whose signature does not verify (proof of possession), an odd PEM header, garbage, an oversized one", () => {
        assert.match((checkEngineerCsr(tamperedCsr(csr.ec256), me) as any).problems.join(), /signature does not verify/);
        assert.match((checkEngineerCsr(tamperedCsr(csr.ed25519), me) as any).problems.join(), /signature does not verify/);
        assert.match((checkEngineerCsr(csr.ec256.replace(/CERTIFICATE REQUEST/g, "NEW CERTIFICATE REQUEST"), me) as any).problems.join(), /exactly one PEM block/);
        assert.match((checkEngineerCsr(csr.ec256 + csr.ec256, me) as any).problems.join(), /exactly one PEM block/);
        assert.match((checkEngineerCsr("-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n", me) as any).problems.join(), /not a PKCS#10|damaged/);
        assert.match((checkEngineerCsr("x".repeat(MAX_CSR_PEM_BYTES + 1), me) as any).problems.join(), /at most 16384 bytes/);
        assert.equal(checkEngineerCsr(undefined, me).ok, false);
    });
});
