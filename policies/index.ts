/**
 * The CrossGuard policy pack: `pulumi preview --policy-pack policies --policy-pack-config policies/config/prod.json`.
 * This file only assembles the pack — constructing a PolicyPack starts the analyzer gRPC server, so nothing
 * else (tests, the CLI, the offline preview) may import it. Rules live in ./rules; the engine in ./engine.
 */
import { PolicyPack } from "@pulumi/policy";
import { allPolicies } from "./rules";

new PolicyPack("byoc-data-plane", {
    description: "Network security model of the BYOC data plane: outbound-only Tailscale, IP-filtered ingress, private endpoints, TLS, time-bound read-only access, least-privilege telemetry.",
    enforcementLevel: "mandatory",
    policies: allPolicies,
});
