// Benchmark: the fleet preview. Generates N customer stacks (copies of Pulumi.prod.yaml with distinct customer ids
// and domains) in a temp directory and times one `node cli/byoc.js preview --all --dir DIR [--json DIR/out]` process:
// wall time, peak RSS, seconds per stack. Target: 100 stacks in < 60 s on 2 cores.
//   node --require ./cli/register.js bench/preview-all.ts [stacks=100] [--json]
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse, stringify } from "yaml";
import { measuredNode } from "./measure";

const ROOT = path.resolve(__dirname, "..");
const COUNT = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 100);
const JSON_OUT = process.argv.includes("--json");

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "byoc-preview-all-"));
try {
    const prod = parse(fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8"));
    for (let i = 1; i <= COUNT; i++) {
        const id = `cust-${String(i).padStart(3, "0")}`;
        const config = {
            ...prod.config,
            "byoc:customer": { id, name: `Customer ${i}` },
            "byoc:ingress": { ...prod.config["byoc:ingress"], domain: `${id}.byoc.example.com` },
            "byoc:access": { ...prod.config["byoc:access"], deployRoleArn: `arn:aws:iam::111122223333:role/byoc-bootstrap-${id}-deploy` },
        };
        fs.writeFileSync(path.join(dir, `Pulumi.${id}.yaml`), stringify({ config }));
    }
    const r = measuredNode([path.join(ROOT, "cli", "byoc.js"), "preview", "--all", "--dir", dir, ...(JSON_OUT ? ["--json", path.join(dir, "out")] : [])], ROOT);
    const secs = r.ms / 1000;
    const u = r.usage;
    const lines = r.stdout.trimEnd().split("\n");
    const perStack = lines.slice(0, -1).map((l) => Number(/\((\d+\.\d) s\)$/.exec(l)?.[1] ?? NaN)).filter((x) => !Number.isNaN(x));
    const sorted = [...perStack].sort((a, b) => a - b);
    const failed = lines.slice(0, -1).filter((l) => !/ exit 0 /.test(l));
    console.log(`byoc preview --all benchmark: ${COUNT} customer stacks (copies of Pulumi.prod.yaml)${JSON_OUT ? ", --json DIR" : ""}`);
    console.log(`  exit code ${r.status}; ${lines[lines.length - 1]}`);
    if (failed.length > 0) console.log(`  not clean: ${failed.length}, e.g. ${failed[0].slice(0, 200)}`);
    if (r.stderr.trim()) console.log(`  stderr (first line of ${r.stderr.trim().split("\n").length}): ${r.stderr.trim().split("\n")[0].slice(0, 200)}`);
    console.log(`  wall ${secs.toFixed(1)} s for the whole process (${(secs / COUNT).toFixed(2)} s per stack); CPU ${((u.userCPUTime + u.systemCPUTime) / 1e6).toFixed(1)} s`);
    console.log(`  per stack (as printed): first ${perStack[0]?.toFixed(1)} s, median ${sorted[Math.floor(sorted.length / 2)]?.toFixed(1)} s, max ${sorted[sorted.length - 1]?.toFixed(1)} s`);
    console.log(`  peak RSS ${(u.maxRSS / 1024).toFixed(0)} MB; load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} CPUs`);
    console.log(`  target < 60 s for 100 stacks: ${COUNT === 100 ? (secs < 60 ? "met" : "NOT met") : `scaled to 100: ${((secs / COUNT) * 100).toFixed(1)} s`}`);
} finally {
    fs.rmSync(dir, { recursive: true, force: true });
}
