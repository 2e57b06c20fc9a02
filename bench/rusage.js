// Preloaded (`node --require bench/rusage.js …`) into a benchmarked child process: on exit it writes its own
// process.resourceUsage() (peak RSS, CPU time) as JSON to $BYOC_BENCH_RUSAGE. Node reports no rusage for children,
// and /usr/bin/time is not everywhere; this measures the very process, at the cost of one small file.
"use strict";
const out = process.env.BYOC_BENCH_RUSAGE;
if (out) process.on("exit", () => require("fs").writeFileSync(out, JSON.stringify(process.resourceUsage())));
