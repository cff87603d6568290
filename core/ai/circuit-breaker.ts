/**
 * A circuit breaker around the AI calls: after `failureThreshold` failures in a row it opens and
 * refuses calls for `cooldownMs` (the heuristics keep deciding meanwhile), then lets one trial call
 * through; its success closes the circuit, its failure opens it again.
 */
export type CircuitState = 'closed' | 'open' | 'half-open';

export class CircuitOpenError extends Error {
  constructor(readonly retryInMs: number) {
    super(`the AI circuit is open; next attempt in ${retryInMs} ms`);
    this.name = 'CircuitOpenError';
  }
}

export class CircuitBreaker {
  private failures = 0;
  private openedAt = 0;
  private trialInFlight = false;
  private current: CircuitState = 'closed';

  constructor(
    private readonly options: {
      failureThreshold: number;
      cooldownMs: number;
      onStateChange?: (state: CircuitState) => void;
    },
    private readonly now: () => number = Date.now,
  ) {}

  get state(): CircuitState {
    return this.current;
  }

  async run<T>(call: () => Promise<T>): Promise<T> {
    this.admit();
    try {
      const result = await call();
      this.failures = 0;
      this.transition('closed');
      return result;
    } catch (error) {
      this.failures++;
      if (this.current === 'half-open' || this.failures >= this.options.failureThreshold) {
        this.openedAt = this.now();
        this.transition('open');
      }
      throw error;
    } finally {
      this.trialInFlight = false;
    }
  }

  private admit(): void {
    if (this.current === 'closed') return;
    const waited = this.now() - this.openedAt;
    if (this.current === 'open' && waited >= this.options.cooldownMs) this.transition('half-open');
    if (this.current === 'half-open' && !this.trialInFlight) {
      this.trialInFlight = true;
      return;
    }
    throw new CircuitOpenError(Math.max(0, this.options.cooldownMs - waited));
  }

  private transition(state: CircuitState): void {
    if (state === this.current) return;
    this.current = state;
    this.options.onStateChange?.(state);
  }
}
