// Finds the certificate issued for a grant in the stack outputs. The TroubleshootingAccess component owns the
// output's exact shape, so this looks for any object that names the grant (by `id`/`grantId` or by its key)
// and carries a PEM certificate, rather than hard-coding one output name.
const PEM = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/;

export interface FoundCertificate {
    pem: string;
    notAfter?: string;
    /** Dotted path of the output it came from, for the audit trail. */
    path: string;
}

export function findCertificate(outputs: unknown, grantId: string): FoundCertificate | undefined {
    const seen = new Set<unknown>();
    const visit = (node: unknown, at: string, key?: string): FoundCertificate | undefined => {
        if (node === null || typeof node !== "object" || seen.has(node)) {
            if (typeof node === "string" && key === grantId && PEM.test(node)) return { pem: node.match(PEM)![0], path: at };
            return undefined;
        }
        seen.add(node);
        const obj = node as Record<string, unknown>;
        if (!Array.isArray(node) && (obj.id === grantId || obj.grantId === grantId || key === grantId)) {
            for (const [k, v] of Object.entries(obj)) {
                if (typeof v === "string" && PEM.test(v)) {
                    const notAfter = typeof obj.notAfter === "string" ? obj.notAfter : typeof obj.validityEndTime === "string" ? obj.validityEndTime : undefined;
                    return { pem: v.match(PEM)![0], notAfter, path: `${at}.${k}` };
                }
            }
        }
        for (const [k, v] of Array.isArray(node) ? node.map((v, i) => [String(i), v] as const) : Object.entries(obj)) {
            const found = visit(v, Array.isArray(node) ? `${at}[${k}]` : at ? `${at}.${k}` : k, k);
            if (found) return found;
        }
        return undefined;
    };
    return visit(outputs, "");
}
