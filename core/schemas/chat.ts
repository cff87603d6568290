import { Type, type Static } from '@sinclair/typebox';
import { EpochMs, Id } from './common.ts';
import { createValidator } from './validate.ts';

export const MODERATION_DECISIONS = ['allow', 'hold', 'block'] as const;
export type ModerationDecision = (typeof MODERATION_DECISIONS)[number];

const Decision = Type.Union(MODERATION_DECISIONS.map((d) => Type.Literal(d)));

/** A rule or classifier category that fired, with its score where it has one. */
export const ModerationFlag = Type.Object(
  {
    category: Type.String({ maxLength: 64, description: 'e.g. profanity, spam.caps, harassment' }),
    score: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    detail: Type.Optional(Type.String({ maxLength: 256 })),
  },
  { additionalProperties: false },
);

/** `chat.messages`: every message the gateway accepted, with the inline heuristic verdict. */
export const ChatMessage = Type.Object(
  {
    schema_v: Type.Literal(1),
    message_id: Id('Server-assigned message id'),
    client_message_id: Type.Optional(Type.String({ maxLength: 64 })),
    stream_id: Id('Stream whose room the message was sent to'),
    user_id: Id('Sender (JWT sub)'),
    display_name: Type.String({ maxLength: 64 }),
    text: Type.String({ maxLength: 2000 }),
    sent_at: EpochMs('Server time the gateway accepted it'),
    heuristic_decision: Decision,
    flags: Type.Array(ModerationFlag, { maxItems: 32 }),
  },
  { additionalProperties: false, $id: 'ChatMessage' },
);
export type ChatMessage = Static<typeof ChatMessage>;

/** `chat.verdicts`: an AI verdict or a moderator action on a message or user. */
export const ChatVerdict = Type.Object(
  {
    schema_v: Type.Literal(1),
    verdict_id: Id('Unique id of this verdict'),
    stream_id: Id('Stream'),
    message_id: Type.Optional(Id('Message concerned, if any')),
    target_user_id: Type.Optional(Id('User concerned, if any')),
    source: Type.Union([Type.Literal('ai'), Type.Literal('heuristics'), Type.Literal('moderator')]),
    action: Type.Union(
      [
        'allow',
        'hold',
        'remove',
        'release',
        'deny',
        'timeout',
        'ban',
        'unban',
        'permit',
        'modes',
        'policy',
        'blocked_terms',
        'permitted_terms',
        'staff',
      ].map((a) => Type.Literal(a)),
    ),
    actor_id: Type.Optional(Id('Moderator (or model) that decided')),
    reason: Type.String({ maxLength: 512 }),
    flags: Type.Array(ModerationFlag, { maxItems: 32 }),
    duration_ms: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_209_600_000 })),
    details: Type.Optional(
      Type.String({ maxLength: 4096, description: 'JSON of what a settings action changed (modes, policy, term)' }),
    ),
    decided_at: EpochMs('When the verdict was made'),
  },
  { additionalProperties: false, $id: 'ChatVerdict' },
);
export type ChatVerdict = Static<typeof ChatVerdict>;

/**
 * `host.prompts`: a suggested question or talking point for a stream's host, built from one chat
 * window. `source` says whether a model wrote it or the heuristic clusters alone did. It carries
 * no personal data beyond the askers' display names.
 */
export const HostPrompt = Type.Object(
  {
    schema_v: Type.Literal(1),
    prompt_id: Id('Prompt id'),
    stream_id: Id('Stream'),
    prompt: Type.String({ minLength: 1, maxLength: 500 }),
    rationale: Type.String({ maxLength: 1000 }),
    source_message_ids: Type.Array(Id('Message'), { minItems: 1, maxItems: 50 }),
    askers: Type.Array(Type.String({ maxLength: 64 }), { maxItems: 50, description: 'Display names only' }),
    priority: Type.Integer({ minimum: 1, maximum: 5, description: '5 is the most pressing' }),
    source: Type.Union([Type.Literal('ai'), Type.Literal('heuristic')]),
    model: Type.Optional(Type.String({ maxLength: 128, description: 'The model that wrote it, when source is ai' })),
    window_start: EpochMs('Start of the chat window the prompt was built from'),
    window_end: EpochMs('End of the chat window the prompt was built from'),
    created_at: EpochMs('Creation time'),
  },
  { additionalProperties: false, $id: 'HostPrompt' },
);
export type HostPrompt = Static<typeof HostPrompt>;

export const chatMessageValidator = createValidator(ChatMessage);
export const chatVerdictValidator = createValidator(ChatVerdict);
export const hostPromptValidator = createValidator(HostPrompt);
