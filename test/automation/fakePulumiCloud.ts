// A loopback stand-in for the Pulumi Cloud REST routes the deployments engine's drift check calls (see
// automation/deploymentsApi.ts): create deployment, get deployment, deployment logs, drift runs. It records every
// request exactly as received and answers from a scenario each test sets.
import * as http from "http";
import type { AddressInfo } from "net";

export interface RecordedRequest {
    method: string;
    /** Path and query, as sent. */
    url: string;
    headers: http.IncomingHttpHeaders;
    /** Parsed JSON body (POST), else undefined. */
    body?: any;
}

export interface Scenario {
    org: string;
    project: string;
    stack: string;
    /** Create deployment: status and body. */
    create: { status: number; body: unknown };
    /** GET deployment answers these statuses in turn (the last one repeats). */
    statuses: string[];
    /** Log pages by the continuationToken they answer ("" = the first request, without a token). */
    logs: Record<string, { lines: { header?: string; timestamp?: string; line?: string }[]; nextToken?: string }>;
    /** When set, the logs route answers this status. */
    logsError?: number;
    /** GET drift/runs answers these in turn (the last one repeats). */
    driftRuns: { status: number; body: unknown }[];
}

export class FakePulumiCloud {
    readonly requests: RecordedRequest[] = [];
    private server?: http.Server;
    url = "";

    constructor(public scenario: Scenario) {}

    async start(): Promise<this> {
        this.server = http.createServer((req, res) => {
            const chunks: Buffer[] = [];
            req.on("data", (c: Buffer) => chunks.push(c));
            req.on("end", () => {
                const text = Buffer.concat(chunks).toString("utf8");
                const rec: RecordedRequest = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: text ? JSON.parse(text) : undefined };
                this.requests.push(rec);
                const [status, body] = this.answer(rec);
                res.writeHead(status, { "content-type": "application/json" });
                res.end(JSON.stringify(body));
            });
        });
        await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
        this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
        return this;
    }

    async close(): Promise<void> {
        if (!this.server) return;
        const closed = new Promise<void>((resolve) => this.server!.close(() => resolve()));
        this.server.closeAllConnections(); // keep-alive sockets of fetch too: a closed fake refuses connections
        await closed;
    }

    /** The requests to one route kind, in order. */
    of(kind: "create" | "get" | "logs" | "drift"): RecordedRequest[] {
        return this.requests.filter((r) => routeKind(r, this.base()) === kind);
    }

    private base(): string {
        const s = this.scenario;
        return `/api/stacks/${s.org}/${s.project}/${s.stack}`;
    }

    private answer(r: RecordedRequest): [number, unknown] {
        const s = this.scenario;
        const kind = routeKind(r, this.base());
        if (kind === "create") return [s.create.status, s.create.body];
        if (kind === "get") {
            const n = this.of("get").length - 1;
            return [200, { id: r.url.split("/").pop(), status: s.statuses[Math.min(n, s.statuses.length - 1)] }];
        }
        if (kind === "logs") {
            if (s.logsError) return [s.logsError, { code: s.logsError, message: "logs are resting" }];
            const token = new URL(r.url, "http://x").searchParams.get("continuationToken") ?? "";
            const page = s.logs[token];
            return page ? [200, page] : [200, { lines: [] }];
        }
        if (kind === "drift") {
            const n = this.of("drift").length - 1;
            const a = s.driftRuns[Math.min(n, s.driftRuns.length - 1)];
            return [a.status, a.body];
        }
        return [404, { code: 404, message: `no route ${r.method} ${r.url}` }];
    }
}

function routeKind(r: RecordedRequest, base: string): "create" | "get" | "logs" | "drift" | undefined {
    const p = r.url.split("?")[0];
    if (r.method === "POST" && p === `${base}/deployments`) return "create";
    if (r.method === "GET" && /\/deployments\/[^/]+\/logs$/.test(p) && p.startsWith(`${base}/deployments/`)) return "logs";
    if (r.method === "GET" && /\/deployments\/[^/]+$/.test(p) && p.startsWith(`${base}/deployments/`)) return "get";
    if (r.method === "GET" && p === `${base}/drift/runs`) return "drift";
    return undefined;
}
