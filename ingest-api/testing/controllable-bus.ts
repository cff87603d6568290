import type { Bus, OutgoingMessage } from '../../core/bus/bus.ts';

/**
 * A bus that behaves like the one it wraps except where a test says otherwise: the next
 * publishes can fail with a given error, or be held until the test lets them through.
 */
export interface ControllableBus extends Bus {
  failNext(...errors: Error[]): void;
  /** Holds publishes until the returned function is called. */
  hold(): () => void;
  /** Publishes waiting at the hold. */
  readonly held: number;
}

export function controllableBus(inner: Bus): ControllableBus {
  const failures: Error[] = [];
  let gate: Promise<void> | null = null;
  let held = 0;
  const publish = async (topic: string, messages: OutgoingMessage[]) => {
    if (gate) {
      held++;
      await gate;
      held--;
    }
    const failure = failures.shift();
    if (failure) throw failure;
    return inner.publish(topic, messages);
  };
  return new Proxy(inner, {
    get(target, property) {
      if (property === 'publish') return publish;
      if (property === 'held') return held;
      if (property === 'failNext') return (...errors: Error[]) => failures.push(...errors);
      if (property === 'hold') {
        return () => {
          let open!: () => void;
          gate = new Promise<void>((resolve) => (open = resolve));
          return () => {
            gate = null;
            open();
          };
        };
      }
      const value = Reflect.get(target, property) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  }) as ControllableBus;
}
