// `npm run portal` as a process: stopping it by the PID one gets from `npm run portal &` stops the server (no
// orphan node process), and BYOC_ENGINE=pulumi without a pulumi CLI refuses to start, saying why.
import { strict as assert } from "assert";
import { spawn, spawnSync, ChildProcess } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { tempDir, TOKENS, until } from "./helpers";
import { ROOT } from "../harness";

/** Every descendant PID of `pid` (from /proc: children of children…). */
function descendants(pid: number): number[] {
    const parents = new Map<number, number[]>();
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        try {
            const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
            const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
            parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
        } catch {
            // gone meanwhile
        }
    }
    const out: number[] = [];
    const walk = (p: number) => {
        for (const c of parents.get(p) ?? []) {
            out.push(c);
            walk(c);
        }
    };
    walk(pid);
    return out;
}

const alive = (pid: number) => {
    try {
        process.kill(pid, 0);
        return !fs.readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z "); // a zombie is gone
    } catch {
        return false;
    }
};

describe("portal: the npm run portal process", function () {
    this.timeout(120_000);
    const started: ChildProcess[] = [];
    const leftovers: number[] = [];
    after(() => {
        for (const pid of leftovers) if (alive(pid)) process.kill(pid, "SIGKILL");
        for (const c of started) if (c.exitCode === null) c.kill("SIGKILL");
    });

    for (const signal of ["SIGTERM", "SIGINT"] as const) {
        it(`stops the server and its workers when npm's PID gets ${signal}`, async () => {
            const dir = tempDir();
            const tokens = path.join(dir, "tokens.json");
            fs.writeFileSync(tokens, JSON.stringify({ [TOKENS.operator]: { user: "operator@example.com", roles: ["operator"] } }), { mode: 0o600 });
            const npm = spawn("npm", ["run", "portal"], {
                cwd: ROOT,
                env: { ...process.env, PORT: "0", BYOC_ENGINE: "offline", BYOC_DATA_DIR: path.join(dir, "data"), BYOC_PORTAL_TOKENS: tokens },
                stdio: ["ignore", "pipe", "pipe"],
            });
            started.push(npm);
            let out = "";
            npm.stdout!.on("data", (d) => (out += d));
            npm.stderr!.on("data", (d) => (out += d));
            const url = await until("listening", () => /listening on (http:\/\/\S+)/.exec(out)?.[1], 60_000);
            assert.equal((await fetch(`${url}/healthz`)).status, 200);
            const tree = descendants(npm.pid!);
            leftovers.push(...tree);
            assert.ok(tree.length > 0, "npm runs the server as a child");
            const exited = new Promise<number | null>((r) => npm.on("exit", (code) => r(code)));
            process.kill(npm.pid!, signal);
            await exited;
            await until(`every process under npm gone (${tree.join(", ")})`, () => tree.every((p) => !alive(p)), 15_000);
            await assert.rejects(fetch(`${url}/healthz`), "nothing listens any more");
            // Its data dir is owner-only, and so is the database in it.
            assert.equal((fs.statSync(path.join(dir, "data")).mode & 0o777).toString(8), "700");
            assert.equal((fs.statSync(path.join(dir, "data", "portal.db")).mode & 0o777).toString(8), "600");
            assert.match(out, new RegExp(`${signal}: stopping`));
        });
    }

    it("refuses BYOC_ENGINE=pulumi when no pulumi CLI is on PATH", () => {
        const dir = tempDir();
        const r = spawnSync(process.execPath, ["--require", "./cli/register.js", "cli/portal.ts"], {
            cwd: ROOT,
            env: { PATH: path.dirname(process.execPath), HOME: dir, PORT: "0", BYOC_ENGINE: "pulumi", BYOC_DATA_DIR: path.join(dir, "data") },
            encoding: "utf8",
            timeout: 20_000,
        });
        assert.equal(r.status, 1, `exit ${r.status} ${r.signal ?? ""}: ${r.stdout}${r.stderr}`);
        assert.match(r.stderr, /byoc portal: BYOC_ENGINE=pulumi, but there is no executable "pulumi" on PATH/);
        assert.doesNotMatch(r.stdout, /listening/);
        assert.equal(fs.existsSync(path.join(dir, "data")), false, "nothing written before refusing");
    });
});
