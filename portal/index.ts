// Builds and starts the whole service (store + scheduler + sweeper + HTTP) from options; the CLI, the tests
// and the benchmark all start it through here.
import { FastifyInstance } from "fastify";
import { StackEngine } from "../automation";
import { createServer, HttpOptions } from "./http";
import { Portal, PortalOptions } from "./service";
import { TokenTable } from "./tokens";

export { DEFAULT_DRIFT_INTERVAL_MS, DEFAULT_KILL_SWITCH_BURST, Portal, PortalError } from "./service";
export type { Actor, Role } from "./service";
export { loadTokens, tokenTable } from "./tokens";
export type { HttpOptions } from "./http";

export interface RunningPortal {
    portal: Portal;
    app: FastifyInstance;
    url: string;
    /**
     * Stops HTTP, then the portal (running jobs are abandoned and marked interrupted on the next start), then the
     * engine's resources when it has any (the offline engine's worker threads).
     */
    close(): Promise<void>;
}

export async function startPortal(opts: PortalOptions & { engine: StackEngine; tokens: TokenTable; port?: number; http?: HttpOptions }): Promise<RunningPortal> {
    const portal = new Portal(opts);
    const app = createServer(portal, opts.tokens, opts.http);
    let url: string;
    try {
        url = await app.listen({ host: "127.0.0.1", port: opts.port ?? 0 });
    } catch (err) {
        portal.close();
        await closeEngine(opts.engine);
        throw err;
    }
    portal.start();
    return {
        portal,
        app,
        url,
        async close() {
            await app.close();
            portal.close();
            await closeEngine(opts.engine);
        },
    };
}

// Not part of StackEngine: only engines holding threads or processes (the offline worker pool) have it.
async function closeEngine(engine: StackEngine): Promise<void> {
    const closable = engine as StackEngine & { close?: () => Promise<void> };
    if (typeof closable.close === "function") await closable.close();
}
