// What a transcript holds: the header (chat, recording, agents, customer) and its entries in order.

export type SenderRole = 'customer' | 'agent' | 'supervisor' | 'flow' | 'system';

export type MarkerKind =
  | 'join'
  | 'leave'
  | 'transfer'
  | 'pause'
  | 'resume'
  | 'consent'
  | 'deletion_request'
  | 'deletion_confirmed'
  | 'abuse_flag'
  | 'recording_start'
  | 'recording_stop'
  | 'chat_end'
  | 'assign'
  | 'recording_off'
  | 'recording_on';

export type TranscriptEntry =
  // `senderId` / `actorId` (the token's sub) tell two agents of the same name apart (vcon parties).
  | { type: 'message'; seq: number; at: Date; role: SenderRole; name: string; text: string; senderId?: string }
  | {
      type: 'marker';
      at: Date;
      kind: MarkerKind;
      actorRole: SenderRole;
      actorName: string;
      detail: string | null;
      actorId?: string | null;
    };

export type MarkerEntry = Extract<TranscriptEntry, { type: 'marker' }>;

export interface TranscriptInput {
  chatId: string;
  externalId: string | null;
  companyId: string;
  service: string;
  timeZone: string;
  recording: {
    id: string;
    name: string;
    label: string | null;
    kind: 'agent' | 'flow';
    startedAt: Date;
    endedAt: Date;
  };
  agents: { id: string; login: string | null; name: string | null; role?: 'agent' | 'supervisor' }[];
  customer: { id: string | null; name: string | null };
  chatStartedAt: Date;
  chatEndedAt: Date;
  // Only the vcon format shows these: why the recording was produced, and the chat's consent
  // markers (request, answer, discard) wherever they fall, also before the recording started.
  outcome?: { reason: string | null; detail: string | null };
  consent?: MarkerEntry[];
  /** Already in order. */
  entries: TranscriptEntry[];
}

/** Everything a transcript holds except its entries (which may be streamed). */
export type TranscriptHeader = Omit<TranscriptInput, 'entries'>;
