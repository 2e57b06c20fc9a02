// The HTTP face of the portal: fastify routes, bearer-token auth with roles, errors as JSON with the status
// they stand for, and the page (static files, no build step).
import * as fs from "fs";
import * as path from "path";
import type { ServerResponse } from "http";
import Fastify, { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { Actor, Portal, PortalError, Role } from "./service";
import { TokenTable } from "./tokens";
import { Rollouts } from "./rollouts";

/** Server timeouts and the failed-login throttle; startPortal's `http` option. */
export interface HttpOptions {
    timeouts?: {
        /** A socket idle this long is closed (fastify connectionTimeout). Default 60 s; followed logs send a heartbeat every 15 s. */
        connectionMs?: number;
        /** The whole request (headers and body) must arrive within this (fastify requestTimeout → 408). Default 30 s. */
        requestMs?: number;
        /** An idle keep-alive connection is closed after this (fastify keepAliveTimeout). Default 5 s. */
        keepAliveMs?: number;
        /** How often Node checks requestTimeout (http connectionsCheckingInterval). Default 1 s. */
        checkIntervalMs?: number;
    };
    /** Failed logins (401s) per source address: `max` within `windowMs`, then 429 until the window has room. Default 10 per minute. */
    loginThrottle?: { max: number; windowMs: number };
    /** Heartbeat of followed logs (SSE comment lines). Default 15 s. */
    heartbeatMs?: number;
}

/** Largest request body (a stack config is a few KB); access requests: ACCESS_REQUEST_BODY_LIMIT. */
const BODY_LIMIT = 64 * 1024;
/** Largest access request body: a CSR (at most 16 KiB, components/render/csr.ts) and a reason. */
const ACCESS_REQUEST_BODY_LIMIT = 24 * 1024;

/** Deepest nesting accepted in a JSON body: stack configs need about 6 levels. */
const MAX_JSON_DEPTH = 32;
const JOB_STATES = ["queued", "running", "succeeded", "failed", "interrupted"];
const ACCESS_STATES = ["pending", "approved", "active", "expired", "denied", "revoked"];
const CUSTOMER_STATUSES = ["provisioning", "deployed", "failed", "destroying", "destroyed"];

declare module "fastify" {
    interface FastifyRequest {
        actor?: Actor;
    }
}

const PAGE_DIR = path.join(__dirname, "page");
const PAGE_FILES: Record<string, string> = {
    "/": "index.html",
    "/app.js": "app.js",
    "/style.css": "style.css",
};
const TYPES: Record<string, string> = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8" };

type Params = { id: string };

export function createServer(portal: Portal, tokens: TokenTable, options: HttpOptions = {}): FastifyInstance {
    const t = options.timeouts ?? {};
    const app = Fastify({
        logger: false,
        bodyLimit: BODY_LIMIT,
        connectionTimeout: t.connectionMs ?? 60_000,
        requestTimeout: t.requestMs ?? 30_000,
        keepAliveTimeout: t.keepAliveMs ?? 5_000,
        http: { connectionsCheckingInterval: t.checkIntervalMs ?? 1_000 },
    });
    const throttle = new LoginThrottle(options.loginThrottle?.max ?? 10, options.loginThrottle?.windowMs ?? 60_000);
    const heartbeatMs = options.heartbeatMs ?? 15_000;
    /** Followed logs still open: ended when the server closes, so closing never waits for them. */
    const streams = new Set<() => void>();
    app.addHook("preClose", async () => {
        for (const end of [...streams]) end();
    });

    // JSON bodies: depth-limited before anything walks them (deep nesting overflowed the stack in validation and
    // error reporting), and no __proto__ keys (what fastify's own parser refuses too).
    app.addContentTypeParser("application/json", { parseAs: "string" }, (_req, body, done) => {
        const text = body as string;
        if (text.trim() === "") return done(badBody("the body is empty: send a JSON object"), undefined);
        const depth = jsonDepth(text);
        if (depth > MAX_JSON_DEPTH) return done(badBody(`JSON nested ${depth} levels deep; at most ${MAX_JSON_DEPTH} are accepted`), undefined);
        try {
            done(null, JSON.parse(text, (k, v) => {
                if (k === "__proto__") throw new SyntaxError('a "__proto__" key is not accepted');
                return v;
            }));
        } catch (err) {
            done(badBody(`not valid JSON: ${(err as Error).message.replace(/, ".*$/s, "")}`), undefined);
        }
    });
    // One value per query parameter: ?limit=1&limit=2 is a question with two answers (and arrays reached SQLite).
    app.addHook("preValidation", async (req) => {
        const query = req.query as Record<string, unknown> | undefined;
        if (!query) return;
        const repeated = Object.entries(query).filter(([, v]) => Array.isArray(v));
        if (repeated.length > 0) {
            throw new PortalError(400, "repeated query parameters", repeated.map(([k, v]) => ({ path: `query.${k}`, value: v, message: "must be given once" })));
        }
    });

    app.addHook("onSend", async (_req, reply) => {
        reply.header("X-Content-Type-Options", "nosniff");
        reply.header("Referrer-Policy", "no-referrer");
        reply.header("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
        reply.header("Cache-Control", "no-store");
    });

    /** Every 400/401/403/429 goes to the audit trail (a 429 once per lockout, so a flood stays one entry). */
    const refused = (req: FastifyRequest, status: number, error: string) => {
        if (status !== 400 && status !== 401 && status !== 403 && status !== 429) return;
        try {
            portal.recordRefusal({ status, method: req.method, url: req.url, ip: req.ip, user: req.actor?.user, error });
        } catch (err) {
            console.error(`audit of a refused request: ${(err as Error).message}`);
        }
    };
    app.setErrorHandler((err: Error & { statusCode?: number; code?: string; retryAfter?: number; audited?: boolean }, req, reply) => {
        if (err instanceof PortalError) {
            if (err.status === 401) reply.header("WWW-Authenticate", 'Bearer realm="byoc-portal"');
            if (!(err as { quiet?: boolean }).quiet) refused(req, err.status, err.message);
            // Problems echo what was sent, cut short: a bad value is shown, never a whole megabyte of it.
            const problems = err.problems?.map((p) => ({ ...p, value: shortValue(p.value) }));
            return reply.status(err.status).send({ error: err.message, ...(problems ? { problems } : {}) });
        }
        if (err instanceof ThrottledError) {
            if (err.first) refused(req, 429, err.message);
            return reply.status(429).header("Retry-After", String(err.retryAfterSeconds)).send({ error: err.message });
        }
        if (err.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
            const limit = req.routeOptions.bodyLimit ?? BODY_LIMIT;
            const message = `the request body is larger than ${limit} bytes, the most ${req.method} ${req.routeOptions.url ?? req.url.split("?")[0]} accepts`;
            return reply.status(413).send({ error: message, problems: [{ path: "body", value: null, message }] });
        }
        if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
            // fastify's own input errors (malformed JSON, wrong content type, too large): still a list of problems.
            refused(req, err.statusCode, err.message);
            return reply.status(err.statusCode).send({ error: "bad request", problems: [{ path: "body", value: null, message: err.message }] });
        }
        console.error(err);
        return reply.status(500).send({ error: `internal error: ${err.message}` });
    });
    app.setNotFoundHandler((req, reply) => reply.status(404).send({ error: `no route ${req.method} ${req.url.split("?")[0]}` }));

    const page = new Map<string, { body: Buffer; type: string }>();
    for (const [url, file] of Object.entries(PAGE_FILES)) page.set(url, { body: fs.readFileSync(path.join(PAGE_DIR, file)), type: TYPES[path.extname(file)] });
    for (const url of page.keys()) {
        app.get(url, async (_req, reply) => {
            const f = page.get(url)!;
            return reply.type(f.type).send(f.body);
        });
    }
    app.get("/healthz", async () => ({ ok: true, engine: portal.engine.kind }));

    /** Authenticates the bearer token (401) and checks the route's roles (403); no roles = any authenticated user. */
    const auth = (...needed: Role[]) => async (req: FastifyRequest) => {
        // A source address with too many failed logins gets 429 for every token until its window has room: the
        // answer to a guess is then the same whether it was right or not.
        throttle.check(req.ip);
        const header = req.headers.authorization ?? "";
        const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
        if (!m) throw throttle.failed(req.ip, new PortalError(401, "missing bearer token: send Authorization: Bearer <token> (see the tokens file printed at startup)"));
        const actor = tokens.lookup(m[1]);
        if (!actor) throw throttle.failed(req.ip, new PortalError(401, "unknown bearer token"));
        req.actor = actor; // known from here on: a 403 is audited under the user's name
        if (needed.length > 0 && !needed.some((r) => actor.roles.includes(r))) {
            throw new PortalError(403, `${req.method} ${req.routeOptions.url} needs the ${needed.join(" or ")} role; ${actor.user} has ${actor.roles.join(", ")}`);
        }
        req.actor = actor;
    };
    const q = (req: FastifyRequest) => req.query as Record<string, string | undefined>;
    /**
     * Reads query parameters by spec and answers 400 with every bad one: `int` a whole number ≥ 0 (e.g. limit,
     * cursors: ?after=abc is a mistake, not an empty page), `oneOf` a known value, `text` at most 200 characters.
     */
    const query = <K extends string>(req: FastifyRequest, spec: Record<K, "int" | "text" | readonly string[]>): Partial<Record<K, any>> => {
        const raw = q(req);
        const out: Partial<Record<K, any>> = {};
        const problems: { path: string; value: unknown; message: string }[] = [];
        for (const [name, kind] of Object.entries(spec) as [K, "int" | "text" | readonly string[]][]) {
            const v = raw[name];
            if (v === undefined || v === "") continue;
            if (kind === "int") {
                if (!/^\d{1,15}$/.test(v)) problems.push({ path: `query.${name}`, value: v, message: "must be a whole number (0 or more)" });
                else out[name] = Number(v);
            } else if (kind === "text") {
                if (v.length > 200) problems.push({ path: `query.${name}`, value: v, message: "must be at most 200 characters" });
                else out[name] = v;
            } else if (!kind.includes(v)) {
                problems.push({ path: `query.${name}`, value: v, message: `must be one of ${kind.join(", ")}` });
            } else out[name] = v;
        }
        if (problems.length > 0) throw new PortalError(400, "invalid query", problems);
        return out;
    };

    app.get("/api/me", { onRequest: auth() }, async (req) => ({ ...req.actor!, engine: portal.engine.kind }));

    app.post("/api/customers", { onRequest: auth("operator") }, async (req, reply) => reply.status(202).send(portal.createCustomer(req.actor!, req.body)));
    // A page of customers by stack id: ?limit (default 100, at most 500), ?cursor (the previous nextCursor),
    // ?status, ?environment, ?q (substring of stack id, customer id or name; 1–2 characters: stack id prefix).
    app.get("/api/customers", { onRequest: auth() }, async (req) => {
        const p = query(req, { limit: "int", cursor: "text", status: CUSTOMER_STATUSES, environment: "text", q: "text" });
        return portal.listCustomers({ limit: p.limit, cursor: p.cursor, status: p.status, environment: p.environment, text: p.q });
    });
    app.get<{ Params: Params }>("/api/customers/:id", { onRequest: auth() }, async (req) => ({ customer: portal.getCustomer(req.params.id) }));
    for (const kind of ["preview", "up", "refresh"] as const) {
        app.post<{ Params: Params }>(`/api/customers/:id/${kind}`, { onRequest: auth("operator") }, async (req, reply) =>
            reply.status(202).send({ job: portal.requestOperation(req.actor!, req.params.id, kind) }),
        );
    }
    // A drift check on demand (README "Drift detection"): a drift job that changes nothing; 409 unless deployed.
    app.post<{ Params: Params }>("/api/customers/:id/drift-check", { onRequest: auth("operator") }, async (req, reply) =>
        reply.status(202).send({ job: portal.requestDriftCheck(req.actor!, req.params.id) }),
    );
    // Break-glass on a private stack (README "Private API"): open reopens the restricted public endpoint, close
    // returns to the configured phase; both take { reason } and queue an up.
    app.post<{ Params: Params }>("/api/customers/:id/break-glass", { onRequest: auth("operator") }, async (req, reply) =>
        reply.status(202).send(portal.breakGlass(req.actor!, req.params.id, req.body, "open")),
    );
    app.post<{ Params: Params }>("/api/customers/:id/break-glass/close", { onRequest: auth("operator") }, async (req, reply) =>
        reply.status(202).send(portal.breakGlass(req.actor!, req.params.id, req.body, "close")),
    );
    // Vendor access (README "Vendor access in the portal"): { state: "enabled"|"suspended", reason } sets
    // byoc:access.vendorAccess and queues the up that applies it (202 { customer, job }) — "suspended" as two runs,
    // suspending then suspended; the state it has (or is moving to): 200, no job.
    app.post<{ Params: Params }>("/api/customers/:id/vendor-access", { onRequest: auth("operator") }, async (req, reply) => {
        const result = portal.setVendorAccess(req.actor!, req.params.id, req.body);
        return reply.status(result.job ? 202 : 200).send(result);
    });
    // Designated approvers of the stack: { approvers: [e-mail…], reason? }; audited; the caller may never decide its requests.
    app.put<{ Params: Params }>("/api/customers/:id/approvers", { onRequest: auth("operator") }, async (req) => portal.setApprovers(req.actor!, req.params.id, req.body));
    app.delete<{ Params: Params; Querystring: { confirm?: string } }>("/api/customers/:id", { onRequest: auth("operator") }, async (req, reply) =>
        reply.status(202).send({ job: portal.deleteCustomer(req.actor!, req.params.id, { confirm: typeof req.query?.confirm === "string" ? req.query.confirm : undefined }) }));

    // Newest first: ?limit (default 100), ?cursor (the previous nextCursor), ?customer, ?state.
    app.get("/api/jobs", { onRequest: auth() }, async (req) => {
        const p = query(req, { limit: "int", cursor: "int", customer: "text", state: JOB_STATES });
        return portal.listJobs({ customer: p.customer, state: p.state, cursor: p.cursor, limit: p.limit });
    });
    app.get<{ Params: Params }>("/api/jobs/:id", { onRequest: auth() }, async (req) => ({ job: portal.getJob(req.params.id) }));
    // The log: text/plain as it is now, or with ?follow=1 a text/event-stream — `log` events with what was
    // appended (id: characters so far; Last-Event-ID or ?from resumes there), then one `end` event with the
    // final state; a comment line every 15 s keeps idle connections open.
    app.get<{ Params: Params }>("/api/jobs/:id/log", { onRequest: auth() }, async (req, reply) => {
        const p = query(req, { follow: ["0", "1"], from: "int" });
        const lastId = req.headers["last-event-id"];
        const from = p.from ?? (typeof lastId === "string" && /^\d{1,15}$/.test(lastId) ? Number(lastId) : 0);
        const snap = portal.store.logFrom(req.params.id, from);
        if (!snap) throw new PortalError(404, `job ${req.params.id} does not exist`);
        if (p.follow !== "1") return reply.type("text/plain; charset=utf-8").send(snap.log);
        followLog(reply, req, snap, Math.min(from, snap.length));
    });
    app.post<{ Params: Params }>("/api/jobs/:id/rerun", { onRequest: auth("operator") }, async (req, reply) => reply.status(202).send({ job: portal.rerunJob(req.actor!, req.params.id) }));

    // Rollouts (portal/rollouts.ts): waves of `up`s through the job queue.
    const rollouts = Rollouts.of(portal);
    app.addHook("onClose", async () => rollouts.close());
    app.post("/api/rollouts", { onRequest: auth("operator") }, async (req, reply) => reply.status(202).send(rollouts.create(req.actor!, req.body)));
    app.get("/api/rollouts", { onRequest: auth() }, async () => ({ rollouts: rollouts.list() }));
    app.get<{ Params: Params }>("/api/rollouts/:id", { onRequest: auth() }, async (req) => ({ rollout: rollouts.get(req.params.id) }));
    app.post<{ Params: Params }>("/api/rollouts/:id/cancel", { onRequest: auth("operator") }, async (req) => rollouts.cancel(req.actor!, req.params.id, req.body));

    app.post<{ Params: Params }>("/api/customers/:id/access-requests", { onRequest: auth("engineer"), bodyLimit: ACCESS_REQUEST_BODY_LIMIT }, async (req, reply) =>
        reply.status(201).send({ request: portal.requestAccess(req.actor!, req.params.id, req.body) }),
    );
    app.get("/api/access-requests", { onRequest: auth() }, async (req) => {
        const p = query(req, { customer: "text", state: ACCESS_STATES, limit: "int" });
        return { requests: portal.listAccessRequests({ customer: p.customer, state: p.state, limit: p.limit }) };
    });
    app.get<{ Params: Params }>("/api/access-requests/:id", { onRequest: auth() }, async (req) => ({ request: portal.getAccessRequest(req.params.id) }));
    for (const decision of ["approve", "deny"] as const) {
        app.post<{ Params: Params }>(`/api/access-requests/:id/${decision}`, { onRequest: auth("approver") }, async (req) => portal.decide(req.actor!, req.params.id, decision));
    }
    // The requester or a designated approver of the stack: withdraws a pending request, or takes an approved/active
    // grant out of the stack config and queues the up that removes it. Body { reason? } (optional).
    app.post<{ Params: Params }>("/api/access-requests/:id/revoke", { onRequest: auth("engineer", "approver") }, async (req) => portal.revoke(req.actor!, req.params.id, req.body));

    // ?order=asc (default: oldest first, from ?after) or desc (newest first, before ?before); ?cursor is the
    // previous page's nextCursor in either order; ?limit (default 500, at most 5000); ?subject.
    app.get("/api/audit", { onRequest: auth("auditor") }, async (req) => {
        const p = query(req, { after: "int", before: "int", cursor: "int", limit: "int", subject: "text", order: ["asc", "desc"] });
        const desc = p.order === "desc";
        return portal.auditPage({ order: desc ? "desc" : "asc", after: desc ? undefined : (p.cursor ?? p.after), before: desc ? (p.cursor ?? p.before) : undefined, limit: p.limit, subject: p.subject });
    });

    const terminal = (state: string) => state === "succeeded" || state === "failed" || state === "interrupted";
    function followLog(reply: FastifyReply, req: FastifyRequest, snap: { log: string; length: number; state: string }, from: number): void {
        const id = (req.params as Params).id;
        reply.hijack();
        const res: ServerResponse = reply.raw;
        res.writeHead(200, {
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "X-Accel-Buffering": "no",
        });
        let offset = from + [...snap.log].length;
        const event = (name: string, data: string, eventId?: number) =>
            res.write(`event: ${name}\n${eventId !== undefined ? `id: ${eventId}\n` : ""}${data.split("\n").map((l) => `data: ${l}`).join("\n")}\n\n`);
        if (snap.log) event("log", snap.log, offset);
        if (terminal(snap.state)) {
            event("end", JSON.stringify({ state: snap.state }));
            res.end();
            return;
        }
        const onLog = (jobId: string, text: string) => {
            if (jobId !== id) return;
            offset += [...text].length;
            event("log", text, offset);
        };
        const onEnd = (jobId: string, state: string) => {
            if (jobId !== id) return;
            event("end", JSON.stringify({ state }));
            end();
        };
        const beat = setInterval(() => res.write(": keep-alive\n\n"), heartbeatMs);
        const end = () => {
            clearInterval(beat);
            portal.logs.off("log", onLog);
            portal.logs.off("end", onEnd);
            streams.delete(end);
            if (!res.writableEnded) res.end();
        };
        portal.logs.on("log", onLog);
        portal.logs.on("end", onEnd);
        streams.add(end);
        res.on("close", end);
    }

    return app;
}

/** 429: too many failed logins from one source address. */
class ThrottledError extends Error {
    constructor(
        readonly retryAfterSeconds: number,
        readonly first: boolean,
    ) {
        super(`too many failed logins from this address: try again in ${retryAfterSeconds} s`);
    }
}

/** Failed logins per source address in a sliding window; `max` of them lock the address out until the oldest ages out. */
class LoginThrottle {
    private readonly failures = new Map<string, { at: number[]; warned: boolean }>();
    constructor(
        readonly max: number,
        readonly windowMs: number,
    ) {}

    private recent(ip: string, now: number): { at: number[]; warned: boolean } | undefined {
        const entry = this.failures.get(ip);
        if (!entry) return undefined;
        while (entry.at.length > 0 && entry.at[0] <= now - this.windowMs) entry.at.shift();
        if (entry.at.length === 0) {
            this.failures.delete(ip);
            return undefined;
        }
        return entry;
    }

    check(ip: string): void {
        const now = Date.now();
        const entry = this.recent(ip, now);
        if (!entry || entry.at.length < this.max) return;
        const first = !entry.warned;
        entry.warned = true;
        throw new ThrottledError(Math.max(1, Math.ceil((entry.at[0] + this.windowMs - now) / 1000)), first);
    }

    /** Counts a failed login and returns the error to throw. */
    failed(ip: string, err: Error): Error {
        const now = Date.now();
        if (this.failures.size > 10_000) for (const key of [...this.failures.keys()]) this.recent(key, now); // bounded memory
        const entry = this.recent(ip, now) ?? { at: [], warned: false };
        entry.at.push(now);
        if (entry.at.length > this.max) entry.at.shift();
        this.failures.set(ip, entry);
        return err;
    }
}

function badBody(message: string): Error {
    return new PortalError(400, "bad request", [{ path: "body", value: null, message }]);
}

/** The deepest nesting of arrays and objects in JSON text, without parsing it (strings and escapes skipped). */
function jsonDepth(text: string): number {
    let depth = 0;
    let max = 0;
    let inString = false;
    for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (inString) {
            if (c === 92 /* \\ */) i++;
            else if (c === 34 /* " */) inString = false;
        } else if (c === 34) inString = true;
        else if (c === 91 || c === 123) max = Math.max(max, ++depth);
        else if (c === 93 || c === 125) depth--;
    }
    return max;
}

/** A value echoed in a problem: long strings cut, deep or large structures summarized. */
function shortValue(v: unknown): unknown {
    if (typeof v === "string") return v.length > 200 ? `${v.slice(0, 200)}…` : v;
    if (v === null || typeof v !== "object") return v;
    try {
        const text = JSON.stringify(v);
        return text.length > 1000 ? `${text.slice(0, 200)}… (${text.length} characters)` : v;
    } catch {
        return "(not representable)";
    }
}

export async function listen(app: FastifyInstance, port: number): Promise<string> {
    return app.listen({ host: "127.0.0.1", port });
}

export type { FastifyReply };
