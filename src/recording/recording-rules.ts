// The recording rules of the contract (section 4) as one pure function, decided at the chat's end.
// No framework imports: the chat service gathers the facts, this module only decides.
import { createHash } from 'node:crypto';

export type ParticipantRole = 'agent' | 'supervisor';

export interface ParticipantFact {
  agentId: string;
  role: ParticipantRole;
  permitRecordings: boolean;
}

export type RecordingKind = 'agent' | 'flow';

export interface RecordingFact {
  recordingId: string;
  kind: RecordingKind;
  /** Agent recordings only: whose user account the recording belongs to. */
  agentId?: string;
  /** Agent recordings only: the draw made at join (see sampleDecision). Undefined counts as kept. */
  sampledIn?: boolean;
}

export type Consent = 'granted' | 'refused' | null;

export interface ChatFacts {
  companyRecordingEnabled: boolean;
  /** Everyone who ever joined, also those who left or transferred the chat away. */
  participants: ParticipantFact[];
  /** The agent pressed delete after the customer's request. */
  deletionConfirmed: boolean;
  consent: Consent;
  /** The flow discarded the conversation. */
  discarded: boolean;
  abusive: boolean;
  recordings: RecordingFact[];
}

export type OutcomeReason =
  'company_recording_off' | 'abusive_override' | 'agent_not_permitted' | 'deletion_confirmed' | 'consent_refused' | 'discarded' | 'not_sampled' | 'recorded';

export interface RecordingOutcome {
  recordingId: string;
  produced: boolean;
  reason: OutcomeReason;
  /** A short sentence for admins (GET /v1/admin/chats/:chatId). */
  detail: string;
}

interface ChatVerdict {
  produced: boolean;
  reason: OutcomeReason;
  detail: string;
}

/**
 * Decides, for each recording of an ended chat, whether it is produced and why.
 * Returns one outcome per recording, in the input's order.
 */
export function decideRecordings(facts: ChatFacts): RecordingOutcome[] {
  const verdict = chatWideVerdict(facts);
  return facts.recordings.map((recording) => {
    if (verdict) return { recordingId: recording.recordingId, ...verdict };
    return { recordingId: recording.recordingId, ...perRecordingVerdict(recording) };
  });
}

// The rules that decide for every recording of the chat at once; undefined when each recording
// is decided on its own (sampling).
function chatWideVerdict(facts: ChatFacts): ChatVerdict | undefined {
  // The company switch: a company whose webchat recording is off records nothing, abusive or not.
  if (!facts.companyRecordingEnabled) {
    return {
      produced: false,
      reason: 'company_recording_off',
      detail: "Not produced: webchat recording is switched off in the company's settings.",
    };
  }

  // Override: a chat flagged abusive produces every recording, whatever (a)-(c) and sampling say.
  if (facts.abusive) {
    return {
      produced: true,
      reason: 'abusive_override',
      detail: 'Produced: the chat was flagged abusive, which overrides permissions, deletion, consent and sampling.',
    };
  }

  // (a) Any agent or supervisor who joined without permission to be recorded (also one who has
  // since left or transferred the chat away) suppresses every recording of the chat.
  const notPermitted = unique(facts.participants.filter((p) => !p.permitRecordings).map((p) => p.agentId));
  if (notPermitted.length > 0) {
    const who = notPermitted.length === 1 ? `agent ${notPermitted[0]}` : `agents ${notPermitted.join(', ')}`;
    return {
      produced: false,
      reason: 'agent_not_permitted',
      detail: `Not produced: ${who} joined the chat and may not be recorded.`,
    };
  }

  // (b) The agent pressed delete after the customer asked for it.
  if (facts.deletionConfirmed) {
    return {
      produced: false,
      reason: 'deletion_confirmed',
      detail: "Not produced: the agent confirmed the customer's request to delete the recording.",
    };
  }

  // (c) Consent was refused, or the flow discarded the conversation.
  if (facts.consent === 'refused') {
    return {
      produced: false,
      reason: 'consent_refused',
      detail: 'Not produced: the customer refused consent to recording.',
    };
  }
  if (facts.discarded) {
    return {
      produced: false,
      reason: 'discarded',
      detail: 'Not produced: the chat flow discarded the conversation.',
    };
  }

  return undefined;
}

function perRecordingVerdict(recording: RecordingFact): ChatVerdict {
  if (recording.kind === 'flow') {
    // Flow recordings are never sampled.
    return {
      produced: true,
      reason: 'recorded',
      detail: 'Produced: flow recording (flow recordings are not sampled).',
    };
  }
  const agent = recording.agentId ?? 'unknown';
  // Agent recordings keep the draw made once, at the join. No stored draw counts as kept
  // (the default samplingPercent is 100).
  if (recording.sampledIn === false) {
    return {
      produced: false,
      reason: 'not_sampled',
      detail: `Not produced: the agent recording of ${agent} was not sampled in at the join.`,
    };
  }
  return {
    produced: true,
    reason: 'recorded',
    detail: `Produced: agent recording of ${agent}.`,
  };
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

/**
 * The sampling draw for one agent joining one chat: uniform in [0, 100) and reproducible,
 * derived from sha256(chatId + '\0' + agentId) (first 6 bytes as an integer / 2^48 * 100).
 */
export function samplingDraw(chatId: string, agentId: string): number {
  const digest = createHash('sha256').update(`${chatId}\0${agentId}`, 'utf8').digest();
  return (digest.readUIntBE(0, 6) / 2 ** 48) * 100;
}

/**
 * Whether an agent recording is kept, drawn once at the join from the agent's samplingPercent
 * (0-100, default 100): kept when draw < samplingPercent, so 100 always keeps and 0 never does.
 * A percentage outside 0-100 is clamped; a missing or non-numeric one counts as the default 100.
 */
export function sampleDecision(chatId: string, agentId: string, samplingPercent: number): { sampledIn: boolean; draw: number; reason: string } {
  const percent = Number.isFinite(samplingPercent) ? Math.min(100, Math.max(0, samplingPercent)) : 100;
  const draw = samplingDraw(chatId, agentId);
  const sampledIn = draw < percent;
  // Truncate (not round) so the sentence never reads "50.00 < 50%".
  const shown = (Math.floor(draw * 100) / 100).toFixed(2);
  const reason = sampledIn ? `draw ${shown} < ${percent}% sampling: kept` : `draw ${shown} >= ${percent}% sampling: not kept`;
  return { sampledIn, draw, reason };
}
