// A recording fake of the Pulumi CLI for the Automation API (`LocalWorkspace.create({ pulumiCommand })`): it
// records every argv, keeps per-stack config and outputs in memory, and answers like the CLI does — including
// the CLI's own error texts for a missing stack and a held lock, so the SDK's error mapping runs for real.
import { SemVer } from "semver";
import { PulumiCommand } from "@pulumi/pulumi/automation";

// Runtime exports of the SDK that its typings mark internal.
const { createCommandError } = require("@pulumi/pulumi/automation/errors") as { createCommandError(r: unknown): Error };
const { CommandResult } = require("@pulumi/pulumi/automation/cmd") as { CommandResult: new (stdout: string, stderr: string, code: number) => unknown };

export interface RecordedCall {
    args: string[];
    cwd: string;
    env: Record<string, string>;
}

type ConfigEntry = { value: string; secret: boolean; objectValue?: unknown };

export class FakePulumi {
    readonly command = "/usr/local/bin/pulumi";
    readonly version = new SemVer("3.248.0");
    readonly calls: RecordedCall[] = [];
    readonly stacks = new Map<string, { config: Record<string, ConfigEntry>; outputs: Record<string, unknown>; resources?: { urn: string; protect?: boolean }[] }>();
    /** Stacks whose next update fails like a held lock of the file backend. */
    readonly locked = new Set<string>();
    /** Commands (by first word) that fail with the given stderr, e.g. a provider error during `up`. */
    readonly failures = new Map<string, string>();
    /** Outputs an `up` leaves behind. */
    outputsAfterUp: Record<string, unknown> = { vpcId: "vpc-0123456789abcdef0", networkFlows: [] };
    /** When set, an `up` leaves these outputs instead, computed from the stack's config as the CLI holds it. */
    outputsFor?: (stack: string, config: Record<string, ConfigEntry>) => Record<string, unknown>;

    asCommand(): PulumiCommand {
        return this as unknown as PulumiCommand;
    }

    /** The argv of every call, with the per-run event-log address normalized. */
    argv(): string[][] {
        return this.calls.map((c) => c.args.map((a) => a.replace(/^tcp:\/\/127\.0\.0\.1:\d+$/, "tcp://127.0.0.1:<port>")));
    }

    async run(args: string[], cwd: string, additionalEnv: Record<string, string>, onOutput?: (data: string) => void): Promise<unknown> {
        this.calls.push({ args: [...args], cwd, env: { ...additionalEnv } });
        const at = args.indexOf("--stack");
        const name = at >= 0 ? args[at + 1] : args[0] === "stack" && args[1] === "init" ? args[2] : "";
        const ok = (stdout = "") => new CommandResult(stdout, "", 0);
        const fail = (stderr: string) => {
            throw createCommandError(new CommandResult("", stderr, 255));
        };
        const stack = this.stacks.get(name);
        const [a, b] = args;
        // RemoteWorkspace checks the CLI for remote support before anything else.
        if (a === "preview" && b === "--help") return ok("Flags:\n      --remote   [EXPERIMENTAL] Run the operation remotely\n");
        if (a === "stack" && b === "init") {
            if (stack) fail(`error: stack '${name}' already exists\n`);
            this.stacks.set(name, { config: {}, outputs: {} });
            return ok();
        }
        if (!stack) return fail(`error: no stack named '${name}' found\n`);
        if (a === "stack" && (b === "select" || b === "--stack")) return ok();
        if (a === "config" && b === "--show-secrets") return ok(JSON.stringify(stack.config));
        if (a === "config" && b === "set-all") {
            Object.assign(stack.config, JSON.parse(args[args.indexOf("--json") + 1]));
            return ok();
        }
        if (a === "config" && b === "rm-all") {
            for (const key of args.slice(4)) delete stack.config[key];
            return ok();
        }
        if (a === "stack" && b === "output") return ok(JSON.stringify(stack.outputs));
        if (a === "stack" && b === "history") return ok("[]");
        if (a === "stack" && b === "export") return ok(JSON.stringify({ version: 3, deployment: { manifest: {}, resources: stack.resources ?? [] } }));
        if (a === "stack" && b === "import") {
            stack.resources = JSON.parse(require("fs").readFileSync(args[args.indexOf("--file") + 1], "utf8")).deployment.resources;
            return ok();
        }
        if (a === "preview" || a === "up" || a === "destroy" || a === "refresh") {
            const failure = this.failures.get(a);
            if (failure) fail(failure);
            if (this.locked.has(name)) {
                fail(`error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or delete the lock file with \`pulumi cancel\`.\n  file://~/.pulumi/locks/organization/byoc/${name}/0f1e.json: created by ops@host (pid 4242) at 2026-11-25T12:00:00Z\n`);
            }
            onOutput?.(`${a === "preview" ? "Previewing update" : a === "up" ? "Updating" : a === "destroy" ? "Destroying" : "Refreshing"} (${name}):\n`);
            onOutput?.("Resources:\n    + 94 to create\n");
            if (a === "up") stack.outputs = this.outputsFor ? this.outputsFor(name, stack.config) : { ...this.outputsAfterUp };
            if (a === "destroy") {
                const guarded = (stack.resources ?? []).filter((r) => r.protect).map((r) => r.urn);
                if (guarded.length > 0) fail(`error: refusing to delete protected resource(s): ${guarded.join(", ")}\n`);
                stack.outputs = {};
                stack.resources = [];
            }
            return ok("done\n");
        }
        return fail(`error: fake pulumi does not know "${args.join(" ")}"\n`);
    }
}

/** RemoteWorkspace takes no PulumiCommand, so the recording fake goes in through PulumiCommand.get; returns the undo. */
export function usePulumiCommandForRemote(command: PulumiCommand): () => void {
    const original = PulumiCommand.get;
    (PulumiCommand as unknown as { get: typeof PulumiCommand.get }).get = async () => command;
    return () => ((PulumiCommand as unknown as { get: typeof PulumiCommand.get }).get = original);
}
