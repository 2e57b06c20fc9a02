// A portal process whose jobs cannot start, for hardening-security.spec.ts (run in a child process: a portal that
// starves its event loop would hang the test runner too). BYOC_FAIL=engine: the engine throws synchronously
// from configure ("no space left on device"); BYOC_FAIL=store: the store cannot mark a job running (SQLITE_FULL).
// Prints {"url": …} once listening; SIGTERM closes it as the CLI does.
import * as path from "path";
import { OperationResult, RunContext, StackEngine } from "../../automation";
import { startPortal } from "../../portal";
import { tempDir, tokens } from "./helpers";

const mode = process.env.BYOC_FAIL === "store" ? "store" : "engine";
let calls = 0;
const engine: StackEngine = {
    kind: "offline",
    configure(_stack: string, _raw: Record<string, unknown>, _ctx: RunContext): Promise<OperationResult> {
        calls++;
        if (mode === "engine") throw new Error("ENOSPC: no space left on device, write '.pulumi/stacks/globex.json'");
        return Promise.resolve({ outcome: "succeeded", message: "configured" });
    },
    run(): Promise<OperationResult> {
        return Promise.resolve({ outcome: "succeeded", message: "ran", outputs: {} });
    },
    outputs: async () => undefined,
};

async function main(): Promise<void> {
    const dir = tempDir("byoc-stuck-");
    const running = await startPortal({ dbFile: path.join(dir, "portal.db"), engine, tokens, sweepIntervalMs: 0, retry: { baseMs: 100, maxMs: 400, startAttempts: 4 } });
    if (mode === "store") {
        const store = running.portal.store;
        const update = store.updateJob.bind(store);
        store.updateJob = (id, fields) => {
            if (fields.state === "running") {
                calls++;
                throw Object.assign(new Error("database or disk is full"), { code: "SQLITE_FULL" });
            }
            update(id, fields);
        };
    }
    process.on("SIGTERM", () => {
        running.close().then(
            () => {
                process.stdout.write(JSON.stringify({ closed: true, calls }) + "\n");
                process.exit(0);
            },
            () => process.exit(1),
        );
    });
    process.stdout.write(JSON.stringify({ url: running.url }) + "\n");
}

void main();
