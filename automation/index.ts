// Entry to the Automation layer: pick and build an engine from the environment (BYOC_ENGINE, PULUMI_BACKEND_URL,
// BYOC_SECRETS_PROVIDER), or take one explicitly.
import * as path from "path";
import { OfflineEngine } from "./offline";
import { PulumiEngine } from "./pulumi";
import { DeploymentsEngine, deploymentsSettings } from "./deployments";
import { EngineKind, pulumiSettings, REPO_ROOT, selectEngineKind } from "./settings";
import { StackEngine } from "./types";

export * from "./types";
export { StackLimiter } from "./limiter";
export { OfflineEngine } from "./offline";
export { PulumiEngine, isBusy, isNotFound } from "./pulumi";
export { DeploymentsEngine, deploymentsSettings, DeploymentsSettings } from "./deployments";
export { pulumiSettings, selectEngineKind, pulumiOnPath, REPO_ROOT } from "./settings";

export interface EngineChoice {
    kind?: EngineKind;
    env?: NodeJS.ProcessEnv;
    /** Repository root (the Pulumi program); `.byoc/` lives under it. */
    root?: string;
    /** Offline state folder; default `<root>/.byoc/offline`. */
    offlineStateDir?: string;
}

export function createEngine(choice: EngineChoice = {}): StackEngine {
    const env = choice.env ?? process.env;
    const root = choice.root ?? REPO_ROOT;
    const kind = choice.kind ?? selectEngineKind(env);
    if (kind === "pulumi") return new PulumiEngine(pulumiSettings(env, root));
    if (kind === "deployments") return new DeploymentsEngine(deploymentsSettings(env));
    return new OfflineEngine({ stateDir: choice.offlineStateDir ?? path.join(root, ".byoc", "offline") });
}
