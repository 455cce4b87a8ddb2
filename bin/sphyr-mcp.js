#!/usr/bin/env node
// Development entry: the built sphyr-mcp of @sphyr/sdk (packages/sdk), exactly what is published.
import '../packages/sdk/bin/sphyr-mcp.js';
