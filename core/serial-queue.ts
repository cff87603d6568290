/** Runs tasks one after another, in call order. */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(task);
    // The chain only orders tasks; each caller still sees its own task's rejection through `result`.
    this.#tail = result.catch(() => undefined);
    return result;
  }
}
