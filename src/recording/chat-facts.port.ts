import { EntityManager } from 'typeorm';

// What recording needs to know of a chat, as plain data. Recording defines this port and chat
// implements it (chat's ChatRecords, provided under this token by ChatRecordsModule), so the
// arrow runs one way: chat -> recording, never recording -> chat.

export type RecordingState = 'recording' | 'paused' | 'off';

export interface ChatFacts {
  id: string;
  externalId: string | null;
  companyId: string;
  service: string;
  customerId: string | null;
  customerName: string | null;
  startedAt: Date;
  endedAt: Date | null;
  nextSeq: number;
  // Read together with nextSeq: the chain check starts from them (the rows below nextSeq were
  // committed with this chat row), so that it need not read the row again.
  status: string;
  chainHead: string | null;
}

export interface ParticipantFacts {
  agentId: string;
  role: 'agent' | 'supervisor';
  name: string | null;
  permitRecordings: boolean;
  joinedAt: Date;
}

// A stretch of the chat a recording captured: messages with seq in [startSeq, endSeq), markers
// placed there and written between `from` and `to`.
export interface ChatSpan {
  startSeq: number;
  endSeq: number;
  from: Date;
  to: Date;
}

export interface MessageRecord {
  seq: number;
  at: Date;
  senderRole: 'customer' | 'agent' | 'supervisor' | 'flow';
  senderId: string;
  senderName: string | null;
  text: string;
}

export interface MarkerRecord {
  afterSeq: number;
  at: Date;
  kind: string;
  actorRole: string;
  actorId: string | null;
  actorName: string | null;
  detail: string | null;
}

// A span of a produced recording whose bodies the chat's end keeps: [startSeq, endSeq), or from
// startSeq on while endSeq is null.
export interface KeptSpan {
  startSeq: number;
  endSeq: number | null;
}

// Whether the spans together cover every seq from 1 to nextSeq - 1 (a chat's messages are numbered
// from 1), so that no body lies outside them.
export function spansCoverAll(kept: KeptSpan[], nextSeq: number): boolean {
  let covered = 1; // every seq below this one is covered
  for (const g of [...kept].sort((a, b) => a.startSeq - b.startSeq)) {
    if (covered >= nextSeq) break;
    if (g.startSeq > covered) return false;
    if (g.endSeq === null) return true;
    covered = Math.max(covered, g.endSeq);
  }
  return covered >= nextSeq;
}

// A recording's markers among its chat's (in chat order, as read): those placed in one of its spans
// (after the message before the span's first, before its end) and written while it ran (a marker
// written while the recording was not running, at the same place in the chat, is not its own).
export function markersWithin(markers: MarkerRecord[], spans: ChatSpan[]): MarkerRecord[] {
  return markers.filter((e) => {
    const at = e.at.getTime();
    return spans.some((g) => e.afterSeq >= g.startSeq - 1 && e.afterSeq < g.endSeq && at >= g.from.getTime() && at <= g.to.getTime());
  });
}

// The consent markers (requests, answers, discards) among a chat's, wherever they fall.
export function consentMarkersOf(markers: MarkerRecord[]): MarkerRecord[] {
  return markers.filter((e) => e.kind === 'consent');
}

// The chat's message chain checked (docs/integrity.md, "Chained messages"): intact with the link
// of the last message the spans captured (lowercase hex; null if they captured none, or only
// messages written before the chain existed), or broken at a seq, with what is wrong there.
// When asked to keep them, an intact verdict also carries the stored bodies (opened) in the spans,
// as messagePage would have read them all, unless they came to more than the characters allowed.
export type ChainVerdict = { intact: true; head: string | null; checked: number; messages?: MessageRecord[] } | { intact: false; seq: number; problem: string };

// The first rows of a chat's chain, read ahead together with other chats' (for a delivery claim)
// after the chat row they are checked against: the check then starts from them instead of its
// own first read. What is in it is the chain check's business only.
export interface ChainReadAhead {
  readonly chatId: string;
}

export abstract class RecordingChatFacts {
  // The chat and everyone who joined it (in join order), read together.
  abstract factsWithParticipants(chatId: string): Promise<{ chat: ChatFacts; participants: ParticipantFacts[] }>;

  // The same for several chats in one read; a chat that does not exist is left out.
  abstract factsWithParticipantsOf(chatIds: string[]): Promise<Map<string, { chat: ChatFacts; participants: ParticipantFacts[] }>>;

  // In join order, or as stored.
  abstract participants(chatId: string, m?: EntityManager, inJoinOrder?: boolean): Promise<ParticipantFacts[]>;

  // The stored bodies (opened) in the spans, after `afterSeq`, at most `limit` of them.
  abstract messagePage(chatId: string, companyId: string, spans: ChatSpan[], afterSeq: number, limit: number): Promise<MessageRecord[]>;

  // The markers in the spans, in chat order (markersWithin).
  abstract markers(chatId: string, spans: ChatSpan[]): Promise<MarkerRecord[]>;

  // Every marker of each of these chats, in chat order, in one read (a chat without any: empty).
  abstract markersOfChats(chatIds: string[]): Promise<Map<string, MarkerRecord[]>>;

  // The chat's consent markers (requests, answers, discards), in chat order, wherever they fall.
  abstract consentMarkers(chatId: string): Promise<MarkerRecord[]>;

  // Walks every stored message of `chat` (as read by facts()) in seq order, page by page, checking
  // each body against its digest and each link against the one before. With keepChars > 0 the
  // bodies it opened in the spans come back with the verdict (up to that many characters in all),
  // so that a small recording reads its messages once.
  // `ahead`: this chat's first rows, from chainReadAheadOf.
  abstract verifyChain(chat: ChatFacts, companyId: string, spans: ChatSpan[], keepChars?: number, ahead?: ChainReadAhead): Promise<ChainVerdict>;

  // The same check, giving the stored bodies (opened) in the spans page by page as it walks, in seq
  // order, and the verdict (without bodies) when it is done: one read of the chat for a large
  // recording's check and render. What it gave is the recording's only if the verdict is intact.
  abstract checkedMessages(chat: ChatFacts, companyId: string, spans: ChatSpan[], ahead?: ChainReadAhead): AsyncGenerator<MessageRecord[], ChainVerdict>;

  // For each of these chats (as read by factsWithParticipantsOf, before this call) whose whole
  // chain fits the check's first read, that read, for all of them in one statement; at most
  // `rowBudget` rows in all (chats past it are left to read for themselves).
  abstract chainReadAheadOf(chats: ChatFacts[], rowBudget: number): Promise<Map<string, ChainReadAhead>>;

  // Removes the message bodies no kept span covers, inside the caller's transaction.
  abstract purgeBodiesOutside(m: EntityManager, chat: { id: string; nextSeq: number }, kept: KeptSpan[]): Promise<void>;
}
