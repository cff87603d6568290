/** An optional dependency that a configured feature needs is not installed. */
export class OptionalModuleMissingError extends Error {
  constructor(
    readonly specifier: string,
    neededFor: string,
    remedy: string,
  ) {
    super(`${neededFor} needs ${specifier}, an optional dependency that is not installed: ${remedy}`);
    this.name = 'OptionalModuleMissingError';
  }
}

/**
 * Imports an optional dependency when the feature that needs it starts, so processes without
 * that feature neither load nor need it; a missing one fails with what to do instead.
 */
export async function importOptional<T>(
  specifier: string,
  load: () => Promise<T>,
  { neededFor, remedy }: { neededFor: string; remedy: string },
): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    // Only the package itself being absent; a broken install of it still shows its own error.
    if (
      (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
      message.includes(`'${specifier.split('/')[0]}`)
    ) {
      throw new OptionalModuleMissingError(specifier, neededFor, remedy);
    }
    throw error;
  }
}
