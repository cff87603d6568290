import { inject } from 'vitest';
import type { LocalServiceEndpoints } from '../infra/local/service-definitions.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    services: LocalServiceEndpoints;
  }
}

export function testServices(): LocalServiceEndpoints {
  return inject('services');
}
