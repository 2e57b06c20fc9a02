// Loads the project's TypeScript through esbuild, caching each compiled file under node_modules/.cache.
// Why not tsx/esbuild-register: tsx hooks every require (it doubled the load time of the provider SDKs) and
// neither caches, so each preview paid ~0.4 s of compiling and ~0.3 s of source-map parsing. Source maps are
// always emitted inline but only parsed when asked for (tests, or BYOC_SOURCEMAPS=1).
"use strict";
const fs = require("fs");
const path = require("path");
const crypto = require("crypto");

const cacheDir = path.join(__dirname, "..", "node_modules", ".cache", "byoc-ts");
const salt = `${process.version}:${require("esbuild/package.json").version}:1`;
if (process.env.BYOC_SOURCEMAPS === "1") process.setSourceMapsEnabled(true);

function compile(source, filename) {
    return require("esbuild").transformSync(source, {
        loader: "ts",
        format: "cjs",
        target: "node20",
        sourcefile: filename,
        sourcemap: "inline",
        tsconfigRaw: { compilerOptions: { useDefineForClassFields: false } },
    }).code;
}

require.extensions[".ts"] = function loadTypeScript(module, filename) {
    const source = fs.readFileSync(filename, "utf8");
    const key = crypto.createHash("sha1").update(salt).update(filename).update(source).digest("hex");
    const cached = path.join(cacheDir, `${key}.js`);
    let code;
    try {
        code = fs.readFileSync(cached, "utf8");
    } catch {
        code = compile(source, filename);
        try {
            fs.mkdirSync(cacheDir, { recursive: true });
            const tmp = `${cached}.${process.pid}.${require("worker_threads").threadId}.tmp`; // workers share the pid
            fs.writeFileSync(tmp, code);
            fs.renameSync(tmp, cached); // atomic: parallel processes never read half a file
        } catch {
            // A read-only tree only loses the cache, never the run.
        }
    }
    module._compile(code, filename);
};
