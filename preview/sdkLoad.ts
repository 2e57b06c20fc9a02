// Loading @pulumi/pulumi costs the offline preview most of its start-up, and half of that is code it never runs:
// `runtime/index.js` eagerly requires the closure serializer (`closure/serializeClosure` → TypeScript's parser,
// `closure/codePaths` → npm's @npmcli/arborist) only to re-export `serializeFunction(Async)` and
// `computeCodePaths`, which serialize JavaScript functions for dynamic providers and Lambda callbacks.
//
// `deferClosureSerializer()` puts a stand-in for those two modules into the require cache before the SDK loads:
// the three functions runtime/index.js picks up at load time forward to the real module, and any other use of the
// module (a direct require, another export) loads it at once. Nothing behaves differently; the real module loads
// the first time something serializes a function, which the data-plane program never does. If the SDK moves these
// files, nothing is deferred and everything still works.
import Module = require("module");

type Exports = Record<string | symbol, any>;

/** The names runtime/index.js reads from each module while it loads (@pulumi/pulumi 3.x). */
const DEFERRED: Record<string, readonly string[]> = {
    "@pulumi/pulumi/runtime/closure/serializeClosure": ["serializeFunctionAsync", "serializeFunction"],
    "@pulumi/pulumi/runtime/closure/codePaths": ["computeCodePaths"],
};

function defer(file: string, loadTimeNames: readonly string[]): void {
    let real: Exports | undefined;
    const load = (): Exports => {
        if (!real) {
            delete require.cache[file];
            real = require(file) as Exports;
        }
        return real;
    };
    const forwarders = new Map(loadTimeNames.map((name) => [name, (...args: unknown[]) => load()[name](...args)] as const));
    const stub = new Module(file, module);
    stub.filename = file;
    stub.loaded = true;
    stub.exports = new Proxy(
        {},
        {
            get: (_, key) => (!real && forwarders.has(key as string) ? forwarders.get(key as string) : load()[key]),
            has: (_, key) => key in load(),
            ownKeys: () => Reflect.ownKeys(load()),
            getOwnPropertyDescriptor: (_, key) => {
                const d = Object.getOwnPropertyDescriptor(load(), key);
                return d && { ...d, configurable: true };
            },
        },
    );
    require.cache[file] = stub;
}

let done = false;

/** Call before anything loads @pulumi/pulumi; a no-op afterwards (or when the SDK's layout differs). */
export function deferClosureSerializer(): void {
    if (done) return;
    done = true;
    for (const [request, names] of Object.entries(DEFERRED)) {
        let file: string;
        try {
            file = require.resolve(request);
        } catch {
            continue;
        }
        if (require.cache[file]) return; // the SDK is already loaded: too late, and nothing to gain
        defer(file, names);
    }
}
