#!/usr/bin/env node
// Development entry: the built @sphyr/cli (packages/cli), so a clone runs exactly what is published.
import '../packages/cli/bin/sphyr.js';
