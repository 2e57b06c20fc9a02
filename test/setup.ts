// Mocha --require: mocks are process-global, so they are installed once here. Specs run programs through
// test/harness.ts, which gives each run a fresh recording monitor and config.
import * as pulumi from "@pulumi/pulumi";
import { ByocMocks } from "../preview/mocks";

process.setSourceMapsEnabled(true); // readable stack traces in failing specs
pulumi.runtime.setMocks(new ByocMocks(), "byoc", "test", false);
// Prod stacks deploy through the customer's deploy role, whose session needs a source identity (stacks/sourceIdentity.ts).
process.env.BYOC_SOURCE_IDENTITY ??= "test-runner@example.com";
