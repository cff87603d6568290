/** Resolves true at `at`, or false at once when aborted. */
export function sleepUntil(at: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (value: boolean) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(value);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(true), Math.max(0, at - Date.now()));
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
