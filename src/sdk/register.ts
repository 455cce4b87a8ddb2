/**
 * @module `node --import @sphyr/sdk/register app.js`: instrument a program before its first line,
 * with settings from `SPHYR_*` variables and `~/.sphyr/config.json`. sphyr-mcp uses it for the
 * servers it wraps.
 */
import { autoInstrument } from './auto-instrument.js';

autoInstrument();
