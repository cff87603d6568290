import { aiSection } from './ai.ts';
import { analyticsSection } from './analytics.ts';
import { analyticsStoreSection } from './analytics-store.ts';
import { authSection } from './auth.ts';
import { busSection } from './bus.ts';
import { chatSection } from './chat.ts';
import { clipsSection } from './clips.ts';
import { highlightsSection } from './highlights.ts';
import { hostPromptsSection } from './host-prompts.ts';
import { ingestSection } from './ingest.ts';
import { ivsSection } from './ivs.ts';
import { liveStateSection } from './live-state.ts';
import { moderationSection } from './moderation.ts';
import { objectStoreSection } from './object-store.ts';
import { serverSection } from './server.ts';
import { warehouseSection } from './warehouse.ts';

/**
 * Every section of the configuration, by the name docs/configuration.md marks its table with. The
 * order is the order problems are reported in. A variable some sections share (the data
 * directory, the IP hash secret, the chat model) is documented in the first that reads it.
 */
export const configSections = {
  server: serverSection,
  auth: authSection,
  ingest: ingestSection,
  bus: busSection,
  analytics: analyticsSection,
  analyticsStore: analyticsStoreSection,
  liveState: liveStateSection,
  objectStore: objectStoreSection,
  ivs: ivsSection,
  clips: clipsSection,
  highlights: highlightsSection,
  ai: aiSection,
  chat: chatSection,
  moderation: moderationSection,
  hostPrompts: hostPromptsSection,
  warehouse: warehouseSection,
};

export type ConfigSections = typeof configSections;
