#!/usr/bin/env node
// Thin entry: stdout belongs to JSON-RPC; everything this process says goes to stderr.
import { main } from '../dist/sphyr-mcp.js';

const code = await main(process.argv.slice(2));
if (code !== undefined) process.exitCode = code;
