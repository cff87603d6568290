import { describe, expect, it } from 'vitest';
import { CircuitBreaker, CircuitOpenError, type CircuitState } from './circuit-breaker.ts';

function breaker() {
  let now = 0;
  const states: CircuitState[] = [];
  const b = new CircuitBreaker(
    { failureThreshold: 3, cooldownMs: 1_000, onStateChange: (s) => states.push(s) },
    () => now,
  );
  return { b, states, advance: (ms: number) => (now += ms) };
}
const fail = () => Promise.reject(new Error('upstream down'));
const succeed = () => Promise.resolve('ok');

describe('CircuitBreaker', () => {
  it('opens after the threshold of failures in a row and refuses calls without making them', async () => {
    const { b, states } = breaker();
    for (let i = 0; i < 3; i++) await expect(b.run(fail)).rejects.toThrow('upstream down');
    expect(b.state).toBe('open');
    let called = false;
    await expect(b.run(() => Promise.resolve((called = true)))).rejects.toBeInstanceOf(CircuitOpenError);
    expect(called).toBe(false);
    expect(states).toEqual(['open']);
  });

  it('a success resets the count of failures', async () => {
    const { b } = breaker();
    await expect(b.run(fail)).rejects.toThrow();
    await expect(b.run(fail)).rejects.toThrow();
    await b.run(succeed);
    await expect(b.run(fail)).rejects.toThrow();
    expect(b.state).toBe('closed');
  });

  it('after the cooldown lets one trial through: success closes, failure reopens', async () => {
    const { b, states, advance } = breaker();
    for (let i = 0; i < 3; i++) await expect(b.run(fail)).rejects.toThrow();
    advance(999);
    await expect(b.run(succeed)).rejects.toMatchObject({ retryInMs: 1 });
    advance(1);
    let release!: () => void;
    const trial = b.run(() => new Promise<string>((resolve) => (release = () => resolve('ok'))));
    await expect(b.run(succeed)).rejects.toBeInstanceOf(CircuitOpenError);
    release();
    await expect(trial).resolves.toBe('ok');
    expect(b.state).toBe('closed');

    for (let i = 0; i < 3; i++) await expect(b.run(fail)).rejects.toThrow();
    advance(1_000);
    await expect(b.run(fail)).rejects.toThrow('upstream down');
    expect(b.state).toBe('open');
    expect(states).toEqual(['open', 'half-open', 'closed', 'open', 'half-open', 'open']);
  });
});
