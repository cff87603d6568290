import { describe, expect, it } from 'vitest';
import { policyCategoryOfAi } from './ai-categories.ts';

describe('policyCategoryOfAi', () => {
  it.each([
    ['hate', 'identity'],
    ['hate/threatening', 'identity'],
    ['harassment/threatening', 'aggression'],
    ['self-harm/intent', 'aggression'],
    ['sexual/minors', 'sexual'],
    ['illicit', null],
    ['something-new', 'aggression'],
  ])('%s → %s', (name, category) => {
    expect(policyCategoryOfAi(name)).toBe(category);
  });
});
