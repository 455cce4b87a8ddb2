#!/usr/bin/env node
// Thin entry: all logic lives in src/cli; this only hands over argv and sets the exit code.
import { main } from '../dist/sphyr.js';

process.exitCode = await main(process.argv.slice(2));
