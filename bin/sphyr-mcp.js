#!/usr/bin/env node
// Thin entry: stdout belongs to JSON-RPC; everything this process says goes to stderr.
import { main } from '../dist/src/mcp/main.js';

const code = await main(process.argv.slice(2));
if (code !== undefined) process.exitCode = code;
