// Pulumi's own check of a project's `config:` declarations (pulumi/pulumi sdk/go/common/workspace/project.go,
// Project.Validate): a key of another namespace than the project's may carry neither a type nor a default and must
// give a `value` ("Configuration key '…' is namespaced and must provide an attribute 'value'"); an array type needs
// `items`. Pulumi refuses to load a project that breaks it, before any program runs.
import * as fs from "fs";
import { parse as parseYaml } from "yaml";

export type ConfigDeclarations = Record<string, Record<string, unknown>>;

export function projectConfigProblems(projectName: string, config: ConfigDeclarations): string[] {
    return Object.entries(config).flatMap(([key, decl]) => {
        const own = !key.includes(":") || key.startsWith(`${projectName}:`);
        if (own) return decl.type === "array" && decl.items === undefined ? [`${key}: an array without items`] : [];
        return [...("type" in decl ? [`${key}: a type`] : []), ...("default" in decl ? [`${key}: a default`] : []), ...("value" in decl ? [] : [`${key}: no value`])];
    });
}

export function readProject(file: string): { name: string; config: ConfigDeclarations } {
    const p = parseYaml(fs.readFileSync(file, "utf8")) as { name: string; config?: ConfigDeclarations };
    return { name: p.name, config: p.config ?? {} };
}
