// `npm run portal`: the provisioning service on 127.0.0.1:${PORT:-8080}. Works on a fresh clone with no
// configuration: state in .byoc/portal.db, tokens created in .byoc/tokens.json, offline engine unless a pulumi
// CLI is on PATH (BYOC_ENGINE=pulumi|offline|auto).
import * as fs from "fs";
import * as path from "path";
import { createEngine, pulumiOnPath, REPO_ROOT, selectEngineKind } from "../automation";
import { DEFAULT_DRIFT_INTERVAL_MS, DEFAULT_KILL_SWITCH_BURST, loadTokens, startPortal } from "../portal";

function positiveNumber(name: string, fallback: number, allowZero = false): number {
    const text = process.env[name];
    if (text === undefined || text === "") return fallback;
    const n = Number(text);
    if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) throw new Error(`${name} = "${text}": must be a ${allowZero ? "non-negative" : "positive"} number`);
    return n;
}

export async function main(): Promise<void> {
    // BYOC_DATA_DIR: where tokens, database and offline state go (default .byoc/ in the repository); owner-only.
    const dataDir = path.resolve(process.env.BYOC_DATA_DIR || path.join(REPO_ROOT, ".byoc"));
    const port = positiveNumber("PORT", 8080, true);
    const kind = selectEngineKind();
    if (kind === "pulumi" && !pulumiOnPath()) {
        throw new Error(
            'BYOC_ENGINE=pulumi, but there is no executable "pulumi" on PATH: install the Pulumi CLI (https://www.pulumi.com/docs/install/) ' +
                "and put it on PATH, or start with BYOC_ENGINE=offline (the mock runtime)",
        );
    }
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    fs.chmodSync(dataDir, 0o700);
    const engine = createEngine({ kind, offlineStateDir: path.join(dataDir, "offline") });
    const tokens = loadTokens(process.env, dataDir);
    const dbFile = process.env.BYOC_PORTAL_DB || path.join(dataDir, "portal.db");
    const running = await startPortal({
        dbFile,
        engine,
        tokens,
        port,
        maxParallel: positiveNumber("BYOC_MAX_PARALLEL", 4),
        sweepIntervalMs: positiveNumber("BYOC_SWEEP_SECONDS", 60, true) * 1000,
        // BYOC_DRIFT_SECONDS: how often each deployed stack gets a drift check (default 6 h; 0 = off).
        driftIntervalMs: positiveNumber("BYOC_DRIFT_SECONDS", DEFAULT_DRIFT_INTERVAL_MS / 1000, true) * 1000,
        // BYOC_KILL_SWITCH_BURST: after this many deploy-role refusals of other customers within an hour, the next is
        // flagged, not taken for that customer's kill switch (default 3; 0 = every refusal suspends).
        killSwitchBurst: positiveNumber("BYOC_KILL_SWITCH_BURST", DEFAULT_KILL_SWITCH_BURST, true),
    });
    console.log(`byoc portal listening on ${running.url}`);
    console.log(`  engine:   ${kind}${kind === "pulumi" ? ` (backend ${process.env.PULUMI_BACKEND_URL || `file://${path.join(REPO_ROOT, ".byoc", "state")}`})` : ` (mock runtime; state in ${path.join(dataDir, "offline")})`}`);
    console.log(`  database: ${dbFile}`);
    console.log(`  tokens:   ${tokens.file}${tokens.created ? " (created: one token per role — operator, engineer, approver, auditor)" : ""}`);

    let stopping = false;
    const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        console.log(`${signal}: stopping (running jobs will show as interrupted and can be re-run)`);
        // Whatever hangs in closing (a client that never reads), the process ends: never an orphan server.
        setTimeout(() => {
            console.error(`${signal}: not closed after 10 s; exiting anyway`);
            process.exit(1);
        }, 10_000).unref();
        running.close().then(
            () => process.exit(0),
            (err) => {
                console.error(err);
                process.exit(1);
            },
        );
    };
    process.on("SIGINT", () => stop("SIGINT"));
    process.on("SIGTERM", () => stop("SIGTERM"));
}

if (require.main === module) {
    main().catch((err) => {
        console.error(`byoc portal: ${(err as Error).message}`);
        process.exit(1);
    });
}
