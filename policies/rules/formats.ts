/**
 * Readers for the text formats configuration hides in: YAML (aws-auth mapRoles, ClickHouse users.yaml), HuJSON
 * (Tailscale policy files, serve configs). YAML comes from js-yaml (a dependency of the pack, policies/package.json),
 * loaded the first time a rule meets a YAML document.
 */
import { parseHuJson } from "./util";

/** What the pack uses of js-yaml (it ships no types). */
let yaml: { load(text: string, opts: { json: boolean }): unknown } | undefined;

/** Parses YAML (any document YAML 1.2 allows, JSON included); throws on a syntax error. */
export function parseYaml(text: string): unknown {
    yaml ??= require("js-yaml") as { load(text: string, opts: { json: boolean }): unknown };
    return yaml.load(text, { json: true });
}

/** Parses JSON or HuJSON (comments, trailing commas); undefined when it is neither. */
export function parseLooseJson(text: string): unknown {
    try {
        return JSON.parse(text);
    } catch {
        try {
            return parseHuJson(text);
        } catch {
            return undefined;
        }
    }
}
