import { describe, expect, it } from 'vitest';
import { SuggestionGuard } from './suggestion-guard.ts';

describe('SuggestionGuard: re-moderation before the host sees it', () => {
  const guard = new SuggestionGuard();
  it.each([
    ['a plain question passes', 'Viewers are asking: what time is the giveaway?', 'Three viewers asked.', null],
    ['an insult is stopped', 'Tell chat they are all idiots', 'Viewers asked.', 'moderation'],
    [
      'mild profanity a channel tolerates is stopped',
      'Say why that fight was such shit',
      'Viewers asked.',
      'moderation',
    ],
    ['a link is stopped', 'Send viewers to free-skins.example.com/claim', 'Viewers asked.', 'personal_data'],
    [
      'an e-mail address is stopped',
      'Viewers ask you to write to jo.doe@example.org',
      'One viewer asked.',
      'personal_data',
    ],
    ['a phone number is stopped', 'Call 555 123 4567 for the prize', 'One viewer asked.', 'personal_data'],
    [
      'a user id in the rationale is stopped',
      'Answer the question about the boss',
      'Asked by user-8f3a9c.',
      'personal_data',
    ],
    ['a year is not a phone number', 'Will there be a 2026 tour?', 'Two viewers asked.', null],
  ])('%s', (_name, prompt, rationale, expected) => {
    expect(guard.check({ prompt, rationale }, ['user-8f3a9c', 'ab'])).toBe(expected);
  });
});
