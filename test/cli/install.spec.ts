// `npm ci` on the Node the project supports (package.json engines, >= 20.19): no locked package may want a newer
// Node (cookie@2 — through fastify → light-my-request@6.8 — wants >= 22: the override pins light-my-request 6.6,
// which uses cookie@1), and .ci/run installs what better-sqlite3 needs to build from source.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";

const ROOT = path.resolve(__dirname, "../..");
// semver is locked in (fastify, pulumi and npm's own modules use it); its ranges are npm's ranges.
const semver: { satisfies(v: string, range: string): boolean; minVersion(range: string): { version: string } | null } = require("semver");

describe("install on the supported Node", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
    const lock = JSON.parse(fs.readFileSync(path.join(ROOT, "package-lock.json"), "utf8"));
    const oldest = semver.minVersion(pkg.engines.node)!.version;

    it(`every package in package-lock.json accepts Node ${oldest} (the oldest package.json allows) and this Node`, () => {
        const refusing: string[] = [];
        for (const [where, entry] of Object.entries<{ version?: string; engines?: { node?: string } | string[] }>(lock.packages)) {
            const range = !Array.isArray(entry.engines) ? entry.engines?.node : undefined;
            if (!where || !range) continue;
            for (const v of [oldest, process.versions.node]) {
                if (!semver.satisfies(v, range)) refusing.push(`${where}@${entry.version} wants node ${range} (not ${v})`);
            }
        }
        assert.deepEqual(refusing, []);
    });

    it("the light-my-request override stays inside fastify's own range, and cookie resolves to 1.x", () => {
        const fastify = lock.packages["node_modules/fastify"];
        const lmr = lock.packages["node_modules/fastify/node_modules/light-my-request"] ?? lock.packages["node_modules/light-my-request"];
        assert.ok(semver.satisfies(lmr.version, fastify.dependencies["light-my-request"]), `light-my-request ${lmr.version} vs fastify's ${fastify.dependencies["light-my-request"]}`);
        const cookies = Object.entries<{ version: string }>(lock.packages).filter(([k]) => k.endsWith("node_modules/cookie"));
        assert.ok(cookies.length > 0);
        for (const [k, c] of cookies) assert.ok(semver.satisfies(c.version, lmr.dependencies.cookie) && c.version.startsWith("1."), `${k}@${c.version}`);
    });

    it(".ci/run installs better-sqlite3's build prerequisites (python3, make, g++) with apt", () => {
        const script = fs.readFileSync(path.join(ROOT, ".ci", "run"), "utf8");
        const apt = script.slice(script.indexOf("apt-get install"), script.indexOf(">/dev/null", script.indexOf("apt-get install")));
        const words = apt.split(/[\s\\]+/);
        for (const p of ["python3", "make", "g++"]) assert.ok(words.includes(p), `${p} in: ${apt}`);
    });
});
