/**
 * Readers for the text formats configuration hides in: YAML (aws-auth mapRoles, ClickHouse users.yaml), HuJSON
 * (Tailscale policy files, serve configs). YAML comes from js-yaml, which @pulumi/pulumi (a dependency of this
 * pack) brings along; when it cannot be loaded only the JSON subset of YAML is read and the caller reports the
 * document as unreadable.
 */
import { parseHuJson } from "./util";

type YamlLoader = (text: string) => unknown;
let loader: YamlLoader | null | undefined;

function yamlLoader(): YamlLoader | null {
    if (loader !== undefined) return loader;
    try {
        // eslint-disable-next-line @typescript-eslint/no-var-requires
        const m = require("js-yaml") as { load?: (s: string, o?: object) => unknown };
        loader = typeof m.load === "function" ? (s) => m.load!(s, { json: true }) : null;
    } catch {
        loader = null;
    }
    return loader;
}

/** Parses YAML (any document YAML 1.2 allows, JSON included); throws on a syntax error. */
export function parseYaml(text: string): unknown {
    const l = yamlLoader();
    if (l) return l(text);
    return JSON.parse(text);
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
