#!/usr/bin/env node
// Launcher for the `byoc` bin (package.json "bin"): registers tsx so the TypeScript sources run as they are,
// then runs the commander root in cli/byoc.ts.
"use strict";
require("tsx/cjs");
require("./byoc.ts").main(process.argv);
