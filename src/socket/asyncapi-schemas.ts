import type { AgentEvent, CustomerEvent } from './client-events';
import type { ServerEvent } from './server-events';

// JSON Schemas of the socket.io payloads, kept by hand next to the event maps and keyed by event
// name: a missing event does not compile, and test/asyncapi.test.ts checks the gateways and the
// notifier against the generated document.
export type JsonSchema = Record<string, unknown>;

const str = (extra: JsonSchema = {}): JsonSchema => ({ type: 'string', ...extra });
const obj = (properties: Record<string, JsonSchema>, required = Object.keys(properties)): JsonSchema => ({
  type: 'object',
  properties,
  required,
  additionalProperties: false,
});
const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });

export const SHARED_SCHEMAS: Record<string, JsonSchema> = {
  ChatId: str({ minLength: 1, maxLength: 64, description: 'The chat, as returned by POST /v1/flow/chats' }),
  ClientMsgId: str({
    minLength: 1,
    maxLength: 128,
    description: "The sender's id of a message; a resend with the same id is stored once and answered with the same seq",
  }),
  Text: str({ description: 'At most MESSAGE_MAX_LENGTH characters (default 10,000), else bad_request' }),
  RecordingState: { type: 'string', enum: ['recording', 'paused', 'off'] },
  Message: obj({
    chatId: ref('ChatId'),
    seq: { type: 'integer', minimum: 1, description: "The message's place in its chat" },
    from: obj({ role: { type: 'string', enum: ['customer', 'agent', 'supervisor', 'flow'] }, name: { type: ['string', 'null'] } }),
    text: ref('Text'),
    at: str({ format: 'date-time' }),
  }),
  Error: obj({
    ok: { const: false },
    error: obj({
      code: { type: 'string', enum: ['bad_request', 'unauthorized', 'forbidden', 'not_found', 'conflict', 'rate_limited', 'unavailable'] },
      message: str(),
    }),
  }),
};

const chatRef = obj({ chatId: ref('ChatId') });
const empty = obj({}, []);
const ok = (properties: Record<string, JsonSchema> = {}): JsonSchema => ({ oneOf: [obj({ ok: { const: true }, ...properties }), ref('Error')] });
const messageReply = ok({ seq: { type: 'integer', minimum: 1 }, at: str({ format: 'date-time' }) });
const stateReply = ok({ recordingState: ref('RecordingState') });

export interface ClientEventSchema {
  summary: string;
  payload: JsonSchema;
  reply: JsonSchema;
}

export const CUSTOMER_EVENT_SCHEMAS: Record<CustomerEvent, ClientEventSchema> = {
  message: {
    summary: 'Send a message; acknowledged once stored',
    payload: obj({ clientMsgId: ref('ClientMsgId'), text: ref('Text') }),
    reply: messageReply,
  },
  'consent.answer': { summary: 'Answer the consent request', payload: obj({ granted: { type: 'boolean' } }), reply: ok() },
  'recording.deleteRequest': { summary: 'Ask the agent to delete the recording', payload: empty, reply: ok() },
  'chat.end': { summary: 'End the chat (ending twice is harmless)', payload: empty, reply: ok() },
};

export const AGENT_EVENT_SCHEMAS: Record<AgentEvent, ClientEventSchema> = {
  'chat.join': {
    summary: 'Join a chat assigned to the agent (a supervisor: any chat of its company); joining again is harmless',
    payload: chatRef,
    reply: ok({ history: { type: 'array', items: ref('Message') }, recordingState: ref('RecordingState') }),
  },
  message: {
    summary: 'Send a message to a joined chat; acknowledged once stored',
    payload: obj({ chatId: ref('ChatId'), clientMsgId: ref('ClientMsgId'), text: ref('Text') }),
    reply: messageReply,
  },
  'recording.pause': { summary: 'Pause every recording of the chat', payload: chatRef, reply: stateReply },
  'recording.resume': { summary: 'Resume the recordings of the chat', payload: chatRef, reply: stateReply },
  'recording.delete': { summary: 'Confirm the customer’s deletion request', payload: chatRef, reply: ok() },
  'chat.flagAbusive': {
    summary: 'Flag the chat as abusive',
    payload: obj({ chatId: ref('ChatId'), reason: str({ minLength: 1, maxLength: 1000 }) }),
    reply: ok(),
  },
  'chat.transfer': {
    summary: 'Transfer the chat to another agent, who then joins; the transferring agent leaves',
    payload: obj({ chatId: ref('ChatId'), toAgentId: str({ minLength: 1, maxLength: 128 }) }),
    reply: ok(),
  },
  'chat.leave': { summary: 'Leave the chat', payload: chatRef, reply: ok() },
  'chat.end': { summary: 'End the chat (ending twice is harmless)', payload: chatRef, reply: ok() },
};

export const SERVER_EVENT_SCHEMAS: Record<ServerEvent, { summary: string; payload: JsonSchema }> = {
  message: { summary: 'A message of the chat (not echoed to the socket that sent it)', payload: ref('Message') },
  'recording.state': { summary: "The chat's recording state changed", payload: obj({ chatId: ref('ChatId'), state: ref('RecordingState') }) },
  'chat.ended': { summary: 'The chat ended', payload: obj({ chatId: ref('ChatId') }) },
  'consent.request': { summary: 'The flow asks the customer for consent', payload: obj({ prompt: str() }) },
  'recording.deleteRequested': { summary: 'The customer asked for the recording to be deleted', payload: obj({ chatId: ref('ChatId') }) },
  'chat.assigned': {
    summary: 'A chat was assigned to this agent (again at every connection while it waits for the join)',
    payload: obj({ chatId: ref('ChatId'), service: str(), customer: obj({ id: { type: ['string', 'null'] }, name: { type: ['string', 'null'] } }) }),
  },
  'auth.expired': { summary: 'The token expired; the socket is disconnected next', payload: obj({ reason: str() }) },
};
