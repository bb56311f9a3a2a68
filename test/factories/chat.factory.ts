import { ChatEntity } from '../../src/chat/chat.entity';

// An open chat row with defaults, for tests that write to the database directly.
export function chatRow(overrides: Partial<ChatEntity> & Pick<ChatEntity, 'id' | 'companyId'>): ChatEntity {
  const now = new Date();
  return Object.assign(new ChatEntity(), {
    externalId: null,
    service: 's',
    customerId: null,
    customerName: null,
    metadata: null,
    status: 'open',
    assignedAgentId: null,
    nextSeq: 1,
    chainHead: null,
    paused: false,
    recordingOff: false,
    consent: null,
    discarded: false,
    abusive: false,
    deletionRequested: false,
    deletionConfirmed: false,
    startedAt: now,
    endedAt: null,
    endReason: null,
    lastActivityAt: now,
    purgedAt: null,
    ...overrides,
  });
}
