// Runs the real Debian nginx on loopback for the tailnet endpoint tests: prefix, config, pid and logs in a temp
// directory; ports picked at runtime; the process is ours (spawned with daemon off) and stopped by pid.
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";

export const NGINX = process.env.NGINX_BIN ?? "/usr/sbin/nginx";
export const STREAM_MODULE = process.env.NGINX_STREAM_MODULE ?? "/usr/lib/nginx/modules/ngx_stream_module.so";

export function nginxAvailable(): boolean {
    return fs.existsSync(NGINX);
}

/** A free loopback TCP port (bound then released; nginx binds it a moment later). */
export async function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const s = net.createServer();
        s.once("error", reject);
        s.listen(0, "127.0.0.1", () => {
            const port = (s.address() as net.AddressInfo).port;
            s.close(() => resolve(port));
        });
    });
}

/** `nginx -t` on a config file; returns nginx's output, throws with it on failure. */
export function nginxTest(prefix: string, confPath: string): string {
    const r = spawnSync(NGINX, ["-t", "-p", prefix, "-e", path.join(prefix, "error.log"), "-c", confPath], { encoding: "utf8" });
    const out = `${r.stdout ?? ""}${r.stderr ?? ""}`;
    if (r.status !== 0) throw new Error(`nginx -t failed (exit ${r.status}) for ${confPath}:\n${out}${r.error?.message ?? ""}`);
    return out;
}

/** Every nginx we started and has not exited: killed by pid if the test process exits first. */
const running = new Set<ChildProcess>();
process.once("exit", () => {
    for (const c of running) c.kill("SIGKILL");
});

export class NginxProcess {
    private child: ChildProcess | undefined;
    private exited: Promise<void> | undefined;
    private stderr = "";

    constructor(readonly prefix: string, readonly confPath: string) {}

    /** Starts nginx in the foreground and waits until every port accepts connections. */
    async start(ports: number[]): Promise<void> {
        const child = spawn(NGINX, ["-p", this.prefix, "-e", path.join(this.prefix, "error.log"), "-c", this.confPath, "-g", "daemon off;"], {
            stdio: ["ignore", "ignore", "pipe"],
        });
        this.child = child;
        running.add(child);
        child.stderr!.on("data", (d) => (this.stderr += d.toString()));
        this.exited = new Promise((resolve) => child.once("exit", () => {
            running.delete(child);
            resolve();
        }));
        const deadline = Date.now() + 10_000;
        for (const port of ports) {
            for (;;) {
                if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}: ${this.stderr}${this.errorLog()}`);
                if (await canConnect(port)) break;
                if (Date.now() > deadline) throw new Error(`nginx did not listen on 127.0.0.1:${port} within 10 s: ${this.stderr}${this.errorLog()}`);
                await new Promise((r) => setTimeout(r, 50));
            }
        }
    }

    errorLog(): string {
        const f = path.join(this.prefix, "error.log");
        return fs.existsSync(f) ? fs.readFileSync(f, "utf8") : "";
    }

    /** Stops the master by its pid (SIGTERM, then SIGKILL after 5 s); workers exit with it. */
    async stop(): Promise<void> {
        const child = this.child;
        if (!child || child.exitCode !== null || child.signalCode !== null) return;
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
        await this.exited;
        clearTimeout(timer);
    }
}

function canConnect(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const s = net.connect({ host: "127.0.0.1", port });
        s.once("connect", () => {
            s.destroy();
            resolve(true);
        });
        s.once("error", () => resolve(false));
    });
}
