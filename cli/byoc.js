#!/usr/bin/env node
// Launcher for the `byoc` bin (package.json "bin"): loads TypeScript through cli/register.js (cached esbuild),
// then runs the commander root in cli/byoc.ts.
"use strict";
require("./register.js");
require("./byoc.ts").main(process.argv);
