// Who runs `up` through the customer's deploy role: BYOC_SOURCE_IDENTITY, passed to STS as the session's source
// identity (and its session name), so every CloudTrail event of the deploy role names the engineer or runner.
// The bootstrap's trust policy refuses a session without one (bootstrap/policies.ts vendorTrustPolicy).

/** A character STS refuses in a SourceIdentity (its alphabet is [\w+=,.@-]). */
export const SOURCE_IDENTITY_INVALID_CHAR = /[^\w+=,.@-]/g;
/** STS AssumeRole SourceIdentity: 2–64 characters of that alphabet, not starting with "aws:" (AWS STS API reference). */
const SOURCE_IDENTITY = /^[\w+=,.@-]{2,64}$/;

export const SOURCE_IDENTITY_ENV = "BYOC_SOURCE_IDENTITY";

class SourceIdentityError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "SourceIdentityError";
    }
}

/** The source identity from the environment, or a SourceIdentityError saying what to set. */
export function sourceIdentityFrom(env: NodeJS.ProcessEnv = process.env): string {
    const v = env[SOURCE_IDENTITY_ENV];
    if (v === undefined || v === "") {
        throw new SourceIdentityError(`${SOURCE_IDENTITY_ENV} is not set: this stack deploys through the customer's deploy role (byoc:access.deployRoleArn), whose trust requires a source identity; set it to your own identity, such as your e-mail address (CloudTrail records it on every call)`);
    }
    if (!SOURCE_IDENTITY.test(v) || v.toLowerCase().startsWith("aws:")) {
        throw new SourceIdentityError(`${SOURCE_IDENTITY_ENV} = ${JSON.stringify(v.slice(0, 80))}: must be 2–64 characters of letters, digits and _+=,.@- (an e-mail address works), not starting with "aws:"`);
    }
    return v;
}
