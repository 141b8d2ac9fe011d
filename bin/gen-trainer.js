#!/usr/bin/env node
// gen-trainer's command line: registers tsx (specs and the generator are TypeScript), then runs the CLI.
import { register } from "tsx/esm/api";

register();
const { run } = await import("../generator/cli.ts");
await run();
