// Mocha --require: mocks are process-global, so they are installed once here. Specs run programs through
// test/harness.ts, which gives each run a fresh recording monitor and config.
import * as pulumi from "@pulumi/pulumi";
import { ByocMocks } from "../preview/mocks";

process.setSourceMapsEnabled(true); // readable stack traces in failing specs
pulumi.runtime.setMocks(new ByocMocks(), "byoc", "test", false);
// For the specs that call the program without a source identity (test/harness.ts runStack passes one): a prod stack's
// deploy-role session reads BYOC_SOURCE_IDENTITY then (stacks/sourceIdentity.ts).
process.env.BYOC_SOURCE_IDENTITY ??= "test-runner@example.com";
