import { describe, expect, it } from 'vitest';
import { DEFAULT_CLIP_PROFILE, profileVersion } from './clip-profile.ts';
import { clipId, clipKeys, jobIdFromKey } from './clip-records.ts';

describe('clip ids', () => {
  const window = { streamId: 'st-AbC123', startMs: 1_790_000_000_000, endMs: 1_790_000_030_000, profileVersion: 'abc' };

  it('are deterministic and differ for any other stream, window or profile', () => {
    const id = clipId(window);
    expect(id).toMatch(/^clip_[0-9a-f]{32}$/);
    expect(clipId({ ...window })).toBe(id);
    for (const other of [
      { streamId: 'st-other' },
      { startMs: window.startMs + 1 },
      { endMs: window.endMs + 1 },
      { profileVersion: 'abd' },
    ]) {
      expect(clipId({ ...window, ...other })).not.toBe(id);
    }
  });

  it('name every key under the clip id', () => {
    const id = clipId(window);
    expect(clipKeys.manifest(id)).toBe(`clips/${id}/manifest.json`);
    expect(clipKeys.output(id, 'vertical')).toBe(`clips/${id}/vertical.mp4`);
    expect(clipKeys.job(id)).toBe(`clip-jobs/${id}.json`);
    expect(jobIdFromKey(clipKeys.job(id))).toBe(id);
    expect(jobIdFromKey('clip-jobs/notes.txt')).toBeNull();
  });
});

describe('profileVersion', () => {
  it('changes with any setting and not with key order', () => {
    const version = profileVersion(DEFAULT_CLIP_PROFILE);
    expect(version).toMatch(/^[0-9a-f]{12}$/);
    const reordered = Object.fromEntries(Object.entries(DEFAULT_CLIP_PROFILE).reverse()) as typeof DEFAULT_CLIP_PROFILE;
    expect(profileVersion(reordered)).toBe(version);
    expect(
      profileVersion({ ...DEFAULT_CLIP_PROFILE, vertical: { ...DEFAULT_CLIP_PROFILE.vertical, crf: 24 } }),
    ).not.toBe(version);
  });
});
