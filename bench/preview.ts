// Benchmark: `npm run preview -- prod` against merely loading the @pulumi/* packages the preview uses, in one
// run, alternating the two so machine noise hits both alike. Prints medians and the ratio (target ≤ 1.5×).
//   npm run bench (or: node --require ./cli/register.js bench/preview.ts) [runs]
import { spawnSync } from "child_process";
import * as path from "path";

const root = path.resolve(__dirname, "..");
const runs = Number(process.argv[2] ?? 7);
const packages = ["@pulumi/pulumi", "@pulumi/aws", "@pulumi/eks", "@pulumi/kubernetes", "@pulumi/tls", "@pulumi/tailscale", "@pulumi/policy"];
// Loading a package means touching what the program uses, since @pulumi/aws and friends load submodules lazily.
const loadOnly = `for (const p of ${JSON.stringify(packages)}) { const m = require(p); for (const k of ["ec2","iam","kms","eks","s3","cloudwatch","core","apps","networking","rbac","policy","helm","storage"]) void m[k]; }`;

function time(args: string[]): number {
    const start = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { cwd: root, encoding: "utf8" });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (r.status !== 0) throw new Error(`${args.join(" ")} exited ${r.status}:\n${r.stderr}\n${r.stdout.slice(-2000)}`);
    return ms;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const load: number[] = [];
const preview: number[] = [];
time(["--require", "./cli/register.js", "cli/preview.ts", "prod"]); // warm the OS file cache once
for (let i = 0; i < runs; i++) {
    load.push(time(["-e", loadOnly]));
    preview.push(time(["--require", "./cli/register.js", "cli/preview.ts", "prod"]));
}
const l = median(load);
const p = median(preview);
console.log(`load @pulumi/* packages : median ${l.toFixed(0)} ms over ${runs} runs (${load.map((x) => x.toFixed(0)).join(", ")})`);
console.log(`npm run preview -- prod : median ${p.toFixed(0)} ms over ${runs} runs (${preview.map((x) => x.toFixed(0)).join(", ")})`);
console.log(`ratio preview / load    : ${(p / l).toFixed(2)}x (target <= 1.5x)`);
