// The contract's client-to-server events (section 3), for tests that try every one of them.
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
export type AgentEvent = (typeof AGENT_EVENTS)[number];
