#!/usr/bin/env node
// Which stacks a change needs a real `pulumi preview` of, for the CI examples next to this file.
//
//   node examples/ci/changed-stacks.js <base-ref> [--format json|tsv] [--dir DIR]
//   node examples/ci/changed-stacks.js --all [--format json|tsv] [--dir DIR]
//
// A change to Pulumi.<stack>.yaml affects that stack; a change to anything that is neither a stack file nor plainly
// outside the program (Markdown, tests, examples, CI definitions, benchmarks) affects every stack: the program,
// the components, the policy pack and the lockfile are shared. Prints one entry per affected stack that still
// exists, with the environment and region read from its file and the policy pack config that goes with it:
//   json (default): [{"stack":"dev","environment":"dev","region":"us-east-1","policyConfig":"policies/config/dev.json"}]
//   tsv:            dev<TAB>dev<TAB>us-east-1<TAB>policies/config/dev.json
// Under GitHub Actions it also writes `stacks=<json>` to $GITHUB_OUTPUT (for a job matrix).
"use strict";
const { execFileSync } = require("child_process");
const fs = require("fs");
const path = require("path");

const STACK_FILE = /^Pulumi\.([^/]+)\.yaml$/;
/** Paths that cannot change what a stack deploys. */
const OUTSIDE_PROGRAM = [/\.md$/i, /^test\//, /^examples\//, /^\.github\//, /^\.gitlab-ci\.yml$/, /^\.ci\//, /^bench\//, /^LICENSE$/];

function stackFiles(dir) {
    return fs
        .readdirSync(dir)
        .map((f) => STACK_FILE.exec(f))
        .filter(Boolean)
        .map((m) => m[1])
        .sort();
}

/** The affected stacks among `stacks` for a list of changed paths (relative to the project directory). */
function affectedStacks(changed, stacks) {
    const hit = new Set();
    for (const file of changed) {
        const m = STACK_FILE.exec(file);
        if (m) hit.add(m[1]);
        else if (!OUTSIDE_PROGRAM.some((re) => re.test(file))) return [...stacks];
    }
    return stacks.filter((s) => hit.has(s));
}

function stackInfo(dir, stack) {
    const { parse } = require("yaml");
    const file = path.join(dir, `Pulumi.${stack}.yaml`);
    const config = (parse(fs.readFileSync(file, "utf8")) || {}).config || {};
    const environment = config["byoc:environment"];
    if (environment !== "dev" && environment !== "prod") throw new Error(`${file}: byoc:environment must be dev or prod, not ${JSON.stringify(environment)}`);
    const region = config["aws:region"];
    if (typeof region !== "string" || region === "") throw new Error(`${file}: aws:region is not set`);
    return { stack, environment, region, policyConfig: `policies/config/${environment}.json` };
}

/** Paths changed since the merge base with `base`, relative to `dir` (the project directory). */
function changedFiles(base, dir) {
    const out = execFileSync("git", ["diff", "--name-only", "--relative", "--no-renames", `${base}...HEAD`], { cwd: dir, encoding: "utf8" });
    return out.split("\n").filter(Boolean);
}

function main(argv) {
    let base;
    let all = false;
    let format = "json";
    let dir = process.cwd();
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === "--all") all = true;
        else if (a === "--format") format = argv[++i];
        else if (a === "--dir") dir = path.resolve(argv[++i]);
        else if (!a.startsWith("-") && base === undefined) base = a;
        else throw new Error(`unknown argument ${a}`);
    }
    if (format !== "json" && format !== "tsv") throw new Error(`--format json|tsv, not ${format}`);
    if (!all && !base) throw new Error("give the base ref of the change (e.g. origin/main) or --all");
    const stacks = stackFiles(dir);
    const affected = all ? stacks : affectedStacks(changedFiles(base, dir), stacks);
    const infos = affected.map((s) => stackInfo(dir, s));
    process.stdout.write(format === "json" ? `${JSON.stringify(infos)}\n` : infos.map((i) => `${i.stack}\t${i.environment}\t${i.region}\t${i.policyConfig}\n`).join(""));
    if (process.env.GITHUB_OUTPUT) fs.appendFileSync(process.env.GITHUB_OUTPUT, `stacks=${JSON.stringify(infos)}\n`);
}

module.exports = { affectedStacks, changedFiles, stackFiles, stackInfo, OUTSIDE_PROGRAM, main };

if (require.main === module) {
    try {
        main(process.argv.slice(2));
    } catch (e) {
        process.stderr.write(`changed-stacks: ${e.message}\n`);
        process.exitCode = 2;
    }
}
