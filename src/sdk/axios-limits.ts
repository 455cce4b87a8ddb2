/**
 * @module The caller's own limits on one axios call (`signal`, `cancelToken`, `timeout`) as one
 * AbortSignal that covers the whole call: agent registration, signing, every redirect hop. Its reason
 * is the error plain axios gives: `CanceledError` for a signal, the token's own error for a
 * CancelToken, the `ECONNABORTED` (or `ETIMEDOUT`) AxiosError for the timeout.
 */
import type { AxiosLike, Config } from './axios.js';

export class CallerLimits {
  readonly #controller = new AbortController();
  readonly #deadline: number | undefined;
  readonly #timeoutError: () => Error;
  readonly #undo: Array<() => void> = [];
  #onWire = 0;

  constructor(ax: AxiosLike, config: Config) {
    const timeout = Number.parseInt(String(config.timeout ?? ''), 10);
    const message = config.timeoutErrorMessage || `timeout of ${config.timeout}ms exceeded`;
    const code = config.transitional?.clarifyTimeoutError ? 'ETIMEDOUT' : 'ECONNABORTED';
    this.#timeoutError = () => new ax.AxiosError(message, code, config);
    if (timeout > 0) {
      this.#deadline = Date.now() + timeout;
      // On the wire, axios's own adapter enforces what is left (see `hopTimeout`); here, the rest.
      const timer = setTimeout(() => {
        if (this.#onWire === 0) this.#abort(this.#timeoutError());
      }, timeout);
      this.#undo.push(() => clearTimeout(timer));
    }
    const signal = config.signal as AbortSignal | undefined;
    if (signal) {
      const onAbort = () => this.#abort(new ax.CanceledError(null, config));
      if (signal.aborted) onAbort();
      else {
        signal.addEventListener('abort', onAbort, { once: true });
        this.#undo.push(() => signal.removeEventListener('abort', onAbort));
      }
    }
    const token = config.cancelToken;
    if (token) {
      const onCancel = (reason: unknown) => this.#abort(reason);
      token.subscribe(onCancel);
      this.#undo.push(() => token.unsubscribe(onCancel));
    }
  }

  /** Fires when the caller gives up; its reason is the caller's error. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** The time left for a hop on the wire, in axios's `timeout` form (undefined: no limit). */
  hopTimeout(): number | undefined {
    return this.#deadline === undefined ? undefined : Math.max(1, this.#deadline - Date.now());
  }

  /** Send one hop: axios's adapter has the signal and `hopTimeout()`; after it, the clock is ours again. */
  async onWire<T>(send: () => Promise<T>): Promise<T> {
    this.signal.throwIfAborted();
    this.#onWire += 1;
    try {
      return await send();
    } finally {
      this.#onWire -= 1;
      if (this.#deadline !== undefined && Date.now() >= this.#deadline) this.#abort(this.#timeoutError());
    }
  }

  /** The caller's error when it has given up (whatever the hop threw meanwhile), else `error`. */
  reasonOr(error: unknown): unknown {
    return this.signal.aborted ? this.signal.reason : error;
  }

  /** The call is over: stop listening to the caller's signal, token and clock. */
  done(): void {
    for (const undo of this.#undo.splice(0)) undo();
  }

  #abort(reason: unknown): void {
    if (!this.#controller.signal.aborted) this.#controller.abort(reason);
  }
}
