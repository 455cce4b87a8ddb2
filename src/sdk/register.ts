/**
 * @module `node --import @sphyr/sdk/register app.js`: instrument a program before its first line,
 * with settings from `SPHYR_*` variables and `~/.sphyr/config.json`. Running first, it puts the ESM
 * loader hook in place before any import, so every axios copy is instrumented, ES modules included.
 * sphyr-mcp uses it for the servers it wraps.
 */
import { autoInstrument } from './auto-instrument.js';

autoInstrument();
