// What the benchmarks share: order statistics, and one measured child process (wall time around the spawn, its own
// peak RSS and CPU time through bench/rusage.js).
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The p-th percentile of an ascending list (nearest rank). */
export const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

export interface MeasuredRun {
    ms: number;
    status: number | null;
    stdout: string;
    stderr: string;
    usage: NodeJS.ResourceUsage;
}

/** `node --require bench/rusage.js <args…>` in `cwd`; its resource usage comes back through a temp file. */
export function measuredNode(args: string[], cwd: string, maxBuffer = 64 << 20): MeasuredRun {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "byoc-rusage-"));
    const file = path.join(dir, "rusage.json");
    try {
        const t0 = process.hrtime.bigint();
        const r = spawnSync(process.execPath, ["--require", path.join(__dirname, "rusage.js"), ...args], { cwd, encoding: "utf8", maxBuffer, env: { ...process.env, BYOC_BENCH_RUSAGE: file } });
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        if (r.error) throw r.error;
        return { ms, status: r.status, stdout: r.stdout, stderr: r.stderr, usage: JSON.parse(fs.readFileSync(file, "utf8")) as NodeJS.ResourceUsage };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
