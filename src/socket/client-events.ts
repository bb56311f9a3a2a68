import type { MessageView } from '../chat/message-view.js';
import type { RecordingStateValue } from './server-events.js';

// The client-to-server events each namespace handles (contract section 3). The gateways' handler
// maps are typed by these lists, so a handler cannot be missing or extra; docs and tests share them.
// Like server-events.ts this file holds plain types only (the client library compiles against it),
// and its relative imports end in `.js` (see there).
export const CUSTOMER_EVENTS = ['message', 'consent.answer', 'recording.deleteRequest', 'chat.end'] as const;
export const AGENT_EVENTS = [
  'chat.join',
  'message',
  'recording.pause',
  'recording.resume',
  'recording.delete',
  'chat.flagAbusive',
  'chat.transfer',
  'chat.leave',
  'chat.end',
] as const;

export type CustomerEvent = (typeof CUSTOMER_EVENTS)[number];
export type AgentEvent = (typeof AGENT_EVENTS)[number];

export type SocketErrorCode = 'bad_request' | 'unauthorized' | 'forbidden' | 'not_found' | 'conflict' | 'rate_limited' | 'unavailable';

// Every acknowledgement: {ok: true, ...reply} or the contract's error.
export type AckOf<Reply> = ({ ok: true } & Reply) | { ok: false; error: { code: SocketErrorCode; message: string } };

export interface CustomerMessagePayload {
  clientMsgId: string;
  text: string;
}
export interface ChatRefPayload {
  chatId: string;
}
export interface AgentMessagePayload extends ChatRefPayload {
  clientMsgId: string;
  text: string;
}
export interface ConsentAnswerPayload {
  granted: boolean;
}
export interface FlagAbusivePayload extends ChatRefPayload {
  reason: string;
}
export interface TransferPayload extends ChatRefPayload {
  toAgentId: string;
}
export type EmptyPayload = Record<string, never>;

export interface MessageReply {
  seq: number;
  at: string;
}
export interface JoinReply {
  history: MessageView[];
  recordingState: RecordingStateValue;
}
export interface RecordingStateReply {
  recordingState: RecordingStateValue;
}
export type EmptyReply = Record<never, never>;

// Event name -> [payload, reply] per namespace.
export interface CustomerEventMap {
  message: [CustomerMessagePayload, MessageReply];
  'consent.answer': [ConsentAnswerPayload, EmptyReply];
  'recording.deleteRequest': [EmptyPayload, EmptyReply];
  'chat.end': [EmptyPayload, EmptyReply];
}

export interface AgentEventMap {
  'chat.join': [ChatRefPayload, JoinReply];
  message: [AgentMessagePayload, MessageReply];
  'recording.pause': [ChatRefPayload, RecordingStateReply];
  'recording.resume': [ChatRefPayload, RecordingStateReply];
  'recording.delete': [ChatRefPayload, EmptyReply];
  'chat.flagAbusive': [FlagAbusivePayload, EmptyReply];
  'chat.transfer': [TransferPayload, EmptyReply];
  'chat.leave': [ChatRefPayload, EmptyReply];
  'chat.end': [ChatRefPayload, EmptyReply];
}

// The maps name exactly the handled events (a compile error otherwise).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export const customerMapMatchesList: Same<keyof CustomerEventMap, CustomerEvent> = true;
export const agentMapMatchesList: Same<keyof AgentEventMap, AgentEvent> = true;
