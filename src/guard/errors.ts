import { SphyrConfigError } from '../errors.js';

/** A config file that does not parse in its client's dialect; it is never written. */
export class GuardParseError extends SphyrConfigError {
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
  ) {
    super('config_parse_error', message);
  }
}
