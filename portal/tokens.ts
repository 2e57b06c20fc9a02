// Bearer tokens and their roles, from the JSON file named by BYOC_PORTAL_TOKENS:
//   { "<token>": { "user": "alice@example.com", "roles": ["operator"] } }
// Without it, `.byoc/tokens.json` is created with one random token per role (mode 0600).
import * as fs from "fs";
import * as path from "path";
import { createHash, randomBytes } from "crypto";
import { Actor, Role, roles } from "./service";

export class TokenFileError extends Error {}

export interface TokenTable {
    file: string;
    created: boolean;
    /** sha256(token) → actor: a lookup by hash does not compare secrets byte by byte. */
    lookup(token: string): Actor | undefined;
}

const hash = (token: string) => createHash("sha256").update(token).digest("hex");

export function parseTokens(doc: unknown, file: string): Map<string, Actor> {
    const problems: string[] = [];
    const table = new Map<string, Actor>();
    if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
        throw new TokenFileError(`${file}: must be a JSON object { "<token>": { "user": "alice@example.com", "roles": ["operator"] } }`);
    }
    const entries = Object.entries(doc as Record<string, unknown>);
    if (entries.length === 0) throw new TokenFileError(`${file}: has no tokens; nobody could sign in. Add { "<token>": { "user": …, "roles": […] } } entries (or remove the file to have one token per role generated)`);
    for (const [n, [token, entry]] of entries.entries()) {
        // Entries are named by position and user, never by any character of the token (errors reach logs).
        const user = typeof (entry as { user?: unknown })?.user === "string" ? ` (user ${JSON.stringify((entry as { user: string }).user).slice(0, 80)})` : "";
        const label = `${file}: entry ${n + 1}${user}`;
        if (token.length < 16) problems.push(`${label}: its token is too short: use at least 16 random characters`);
        const e = entry as { user?: unknown; roles?: unknown };
        if (typeof e?.user !== "string" || e.user.length === 0) problems.push(`${label}: "user" must be a non-empty string such as alice@example.com`);
        if (!Array.isArray(e?.roles) || e.roles.length === 0 || !e.roles.every((r) => roles.includes(r as Role))) {
            problems.push(`${label}: "roles" = ${JSON.stringify(e?.roles)}; must list one or more of ${roles.join(", ")}`);
        }
        if (problems.length === 0) table.set(hash(token), { user: e.user as string, roles: [...new Set(e.roles as Role[])] });
    }
    if (problems.length > 0) throw new TokenFileError(problems.join("\n"));
    return table;
}

export function loadTokens(env: NodeJS.ProcessEnv, dataDir: string): TokenTable {
    let file = env.BYOC_PORTAL_TOKENS;
    let created = false;
    if (!file) {
        file = path.join(dataDir, "tokens.json");
        if (!fs.existsSync(file)) {
            fs.mkdirSync(dataDir, { recursive: true });
            const doc: Record<string, Actor> = {};
            for (const role of roles) doc[randomBytes(24).toString("base64url")] = { user: `${role}@example.com`, roles: [role] };
            fs.writeFileSync(file, JSON.stringify(doc, null, 2) + "\n", { mode: 0o600, flag: "wx" });
            created = true;
        }
    }
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (err) {
        throw new TokenFileError(`BYOC_PORTAL_TOKENS = ${file}: cannot read it (${(err as NodeJS.ErrnoException).code})`);
    }
    if (text.trim() === "") throw new TokenFileError(`${file}: is empty; nobody could sign in. Write { "<token>": { "user": "alice@example.com", "roles": ["operator"] } } (or remove the file to have one token per role generated)`);
    let doc: unknown;
    try {
        doc = JSON.parse(text);
    } catch (err) {
        // V8's message quotes the text around the error, which would be a token: say where, not what.
        throw new TokenFileError(`${file}: not valid JSON (${jsonErrorPlace(err as Error, text)})`);
    }
    const table = parseTokens(doc, file);
    return { file, created, lookup: (token) => table.get(hash(token)) };
}

/** Where JSON.parse failed, as line and column (V8 gives a position), with none of the text itself. */
function jsonErrorPlace(err: Error, text: string): string {
    const m = /position (\d+)/.exec(err.message);
    if (!m) return /end of JSON input/.test(err.message) ? "it ends too early" : "syntax error";
    const before = text.slice(0, Number(m[1])).split("\n");
    return `syntax error at line ${before.length}, column ${before[before.length - 1].length + 1}`;
}

/** A token table from a literal map (tests). */
export function tokenTable(doc: Record<string, { user: string; roles: Role[] }>): TokenTable {
    const table = parseTokens(doc, "(inline)");
    return { file: "(inline)", created: false, lookup: (token) => table.get(hash(token)) };
}
