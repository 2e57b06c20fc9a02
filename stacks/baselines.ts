// Per-environment baselines: the defaults a stack file may omit and the limits it may not exceed.
export type Environment = "dev" | "prod";

export interface Baseline {
    environment: Environment;
    defaultAzCount: number;
    minAzCount: number;
    defaultNatGateways: "single" | "perAz";
    allowedNatGateways: ("single" | "perAz")[];
    maxCertificateHours: number;
    allowedAcmeServers: ("staging" | "production")[];
    /** Managed node group sizing. */
    nodes: { instanceType: string; min: number; desired: number; max: number };
    /** Days the VPC flow logs and control-plane logs are kept. */
    logRetentionDays: number;
    /** Lifetime of a Tailscale auth key, in seconds: long enough for the agent to start, never the 90-day default. */
    tailscaleKeyExpirySeconds: number;
}

export const baselines: Record<Environment, Baseline> = {
    dev: {
        environment: "dev",
        defaultAzCount: 2,
        minAzCount: 2,
        defaultNatGateways: "single",
        allowedNatGateways: ["single", "perAz"],
        maxCertificateHours: 24,
        allowedAcmeServers: ["staging", "production"],
        nodes: { instanceType: "m6i.large", min: 2, desired: 2, max: 4 },
        logRetentionDays: 30,
        // The policy pack caps auth keys at 3600 s in every environment (policies/config/*.json); an agent starts in minutes.
        tailscaleKeyExpirySeconds: 3600,
    },
    prod: {
        environment: "prod",
        defaultAzCount: 3,
        minAzCount: 3,
        defaultNatGateways: "perAz",
        allowedNatGateways: ["perAz"],
        maxCertificateHours: 8,
        allowedAcmeServers: ["production"],
        nodes: { instanceType: "m6i.xlarge", min: 3, desired: 3, max: 9 },
        logRetentionDays: 365,
        tailscaleKeyExpirySeconds: 3600,
    },
};
