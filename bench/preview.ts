// Benchmark: `npm run preview -- prod` against merely loading the six @pulumi/* packages the program uses, in one
// run, alternating the two so machine noise hits both alike. Prints medians, the ratio (target ≤ 1.3×) and where a
// preview's time goes (phases timed inside one child process).
//   npm run bench (or: node --require ./cli/register.js bench/preview.ts) [runs]
import { spawnSync } from "child_process";
import * as os from "os";
import * as path from "path";
import { median } from "./measure";

const root = path.resolve(__dirname, "..");
const runs = Number(process.argv[2] ?? 7);
const packages = ["@pulumi/pulumi", "@pulumi/aws", "@pulumi/eks", "@pulumi/kubernetes", "@pulumi/tls", "@pulumi/tailscale"];
// Loading a package means touching what the program uses, since @pulumi/aws and friends load submodules lazily.
const loadOnly = `for (const p of ${JSON.stringify(packages)}) { const m = require(p); for (const k of ["ec2","iam","kms","eks","s3","cloudwatch","route53","core","apps","networking","rbac","policy","helm","storage"]) void m[k]; }`;
const preview = ["--require", "./cli/register.js", "cli/preview.ts", "prod"];

function time(args: string[]): { ms: number; stdout: string } {
    const start = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { cwd: root, encoding: "utf8" });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (r.status !== 0) throw new Error(`${args.join(" ")} exited ${r.status}:\n${r.stderr}\n${r.stdout.slice(-2000)}`);
    return { ms, stdout: r.stdout };
}

/** Child mode: one preview of prod, the way cli/preview.ts runs it, with a lap at every phase (JSON on stdout). */
async function phases() {
    const laps: [string, number][] = [];
    let t = performance.now();
    const lap = (name: string) => {
        const now = performance.now();
        laps.push([name, now - t]);
        t = now;
    };
    laps.push(["node start-up + cli/register.js", t]);
    require("commander");
    require("../cli/preview");
    lap("commander + cli/preview.ts");
    (require("../preview/sdkLoad") as typeof import("../preview/sdkLoad")).deferClosureSerializer();
    const { readStackFile, toEngineConfig }: typeof import("../stacks/loader") = require("../stacks/loader");
    lap("@pulumi/pulumi + zod + yaml (stacks/loader)");
    const raw = readStackFile("prod", root).raw;
    const { parseStackConfig }: typeof import("../stacks/schema") = require("../stacks/schema");
    const parsed = parseStackConfig(raw);
    if (!parsed.ok) throw new Error("Pulumi.prod.yaml is invalid");
    lap("read + validate Pulumi.prod.yaml");
    const dataPlane: typeof import("../index") = require("../index");
    const { runProgram }: typeof import("../preview/runtime") = require("../preview/runtime");
    lap("program modules (index.ts, components/, preview/runtime)");
    const run = await runProgram(() => dataPlane(parsed.config), { stack: "prod", config: toEngineConfig(raw), region: parsed.config.region });
    lap(`run under the mocks (${run.resources.length} resources; provider classes load lazily here)`);
    const { evaluatePolicies, loadPackConfig }: typeof import("../policies/engine") = require("../policies/engine");
    const { parseSnapshot }: typeof import("../policies/snapshot") = require("../policies/snapshot");
    const { toStackExport }: typeof import("../preview/snapshot") = require("../preview/snapshot");
    lap("policy pack modules");
    evaluatePolicies(parseSnapshot(toStackExport(run)).resources, { env: "prod", config: loadPackConfig("prod") });
    lap("snapshot + policy evaluation");
    const printer: typeof import("../preview/printer") = require("../preview/printer");
    printer.formatTree(run.resources);
    printer.formatFlows(run.outputs.networkFlows ?? [], { invented: run.invented });
    lap("printing");
    process.stdout.write(JSON.stringify(laps));
}

function main() {
    const load: number[] = [];
    const full: number[] = [];
    time(preview); // warm the OS file cache and the compile cache once
    for (let i = 0; i < runs; i++) {
        load.push(time(["-e", loadOnly]).ms);
        full.push(time(preview).ms);
    }
    const l = median(load);
    const p = median(full);
    console.log(`load the six @pulumi/* packages : median ${l.toFixed(0)} ms over ${runs} runs (${load.map((x) => x.toFixed(0)).join(", ")})`);
    console.log(`npm run preview -- prod         : median ${p.toFixed(0)} ms over ${runs} runs (${full.map((x) => x.toFixed(0)).join(", ")})`);
    console.log(`ratio preview / load            : ${(p / l).toFixed(2)}x (target <= 1.3x); load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} CPUs`);
    const all = Array.from({ length: Math.max(3, Math.min(runs, 5)) }, () => JSON.parse(time(["--require", "./cli/register.js", __filename, "--phases-child"]).stdout) as [string, number][]);
    console.log("where a preview's time goes (median of the phases of several runs, in one process each):");
    for (let i = 0; i < all[0].length; i++) console.log(`  ${median(all.map((a) => a[i][1])).toFixed(0).padStart(5)} ms  ${all[0][i][0]}`);
}

if (process.argv.includes("--phases-child")) void phases();
else main();
