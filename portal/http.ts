// The HTTP face of the portal: fastify routes, bearer-token auth with roles, errors as JSON with the status
// they stand for, and the page (static files, no build step).
import * as fs from "fs";
import * as path from "path";
import Fastify, { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { Actor, Portal, PortalError, Role } from "./service";
import { TokenTable } from "./tokens";

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

export function createServer(portal: Portal, tokens: TokenTable): FastifyInstance {
    const app = Fastify({ logger: false, bodyLimit: 256 * 1024 });

    app.addHook("onSend", async (_req, reply) => {
        reply.header("X-Content-Type-Options", "nosniff");
        reply.header("Referrer-Policy", "no-referrer");
        reply.header("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
        reply.header("Cache-Control", "no-store");
    });

    app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
        if (err instanceof PortalError) {
            if (err.status === 401) reply.header("WWW-Authenticate", 'Bearer realm="byoc-portal"');
            return reply.status(err.status).send({ error: err.message, ...(err.problems ? { problems: err.problems } : {}) });
        }
        if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
            // fastify's own input errors (malformed JSON, wrong content type, too large): still a list of problems.
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
        const header = req.headers.authorization ?? "";
        const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
        if (!m) throw new PortalError(401, "missing bearer token: send Authorization: Bearer <token> (see the tokens file printed at startup)");
        const actor = tokens.lookup(m[1]);
        if (!actor) throw new PortalError(401, "unknown bearer token");
        if (needed.length > 0 && !needed.some((r) => actor.roles.includes(r))) {
            throw new PortalError(403, `${req.method} ${req.routeOptions.url} needs the ${needed.join(" or ")} role; ${actor.user} has ${actor.roles.join(", ")}`);
        }
        req.actor = actor;
    };
    const q = (req: FastifyRequest) => req.query as Record<string, string | undefined>;
    const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));

    app.get("/api/me", { onRequest: auth() }, async (req) => ({ ...req.actor!, engine: portal.engine.kind }));

    app.post("/api/customers", { onRequest: auth("operator") }, async (req, reply) => reply.status(202).send(portal.createCustomer(req.actor!, req.body)));
    app.get("/api/customers", { onRequest: auth() }, async () => ({ customers: portal.listCustomers() }));
    app.get<{ Params: Params }>("/api/customers/:id", { onRequest: auth() }, async (req) => ({ customer: portal.getCustomer(req.params.id) }));
    for (const kind of ["preview", "up", "refresh"] as const) {
        app.post<{ Params: Params }>(`/api/customers/:id/${kind}`, { onRequest: auth("operator") }, async (req, reply) =>
            reply.status(202).send({ job: portal.requestOperation(req.actor!, req.params.id, kind) }),
        );
    }
    // Break-glass on a private stack (README "Private API"): open reopens the restricted public endpoint, close
    // returns to the configured phase; both take { reason } and queue an up.
    app.post<{ Params: Params }>("/api/customers/:id/break-glass", { onRequest: auth("operator") }, async (req, reply) =>
        reply.status(202).send(portal.breakGlass(req.actor!, req.params.id, req.body, "open")),
    );
    app.post<{ Params: Params }>("/api/customers/:id/break-glass/close", { onRequest: auth("operator") }, async (req, reply) =>
        reply.status(202).send(portal.breakGlass(req.actor!, req.params.id, req.body, "close")),
    );
    app.delete<{ Params: Params }>("/api/customers/:id", { onRequest: auth("operator") }, async (req, reply) => reply.status(202).send({ job: portal.deleteCustomer(req.actor!, req.params.id) }));

    app.get("/api/jobs", { onRequest: auth() }, async (req) => ({ jobs: portal.listJobs({ customer: q(req).customer, limit: num(q(req).limit) }) }));
    app.get<{ Params: Params }>("/api/jobs/:id", { onRequest: auth() }, async (req) => ({ job: portal.getJob(req.params.id) }));
    app.post<{ Params: Params }>("/api/jobs/:id/rerun", { onRequest: auth("operator") }, async (req, reply) => reply.status(202).send({ job: portal.rerunJob(req.actor!, req.params.id) }));

    app.post<{ Params: Params }>("/api/customers/:id/access-requests", { onRequest: auth("engineer") }, async (req, reply) =>
        reply.status(201).send({ request: portal.requestAccess(req.actor!, req.params.id, req.body) }),
    );
    app.get("/api/access-requests", { onRequest: auth() }, async (req) => ({
        requests: portal.listAccessRequests({ customer: q(req).customer, state: q(req).state, limit: num(q(req).limit) }),
    }));
    app.get<{ Params: Params }>("/api/access-requests/:id", { onRequest: auth() }, async (req) => ({ request: portal.getAccessRequest(req.params.id) }));
    for (const decision of ["approve", "deny"] as const) {
        app.post<{ Params: Params }>(`/api/access-requests/:id/${decision}`, { onRequest: auth("approver") }, async (req) => portal.decide(req.actor!, req.params.id, decision));
    }

    app.get("/api/audit", { onRequest: auth("auditor") }, async (req) => ({
        entries: portal.auditTrail({ after: num(q(req).after), limit: num(q(req).limit), subject: q(req).subject }),
    }));

    return app;
}

export async function listen(app: FastifyInstance, port: number): Promise<string> {
    return app.listen({ host: "127.0.0.1", port });
}

export type { FastifyReply };
