// The client-to-server events each namespace handles (contract section 3). The gateways' handler
// maps are typed by these lists, so a handler cannot be missing or extra; docs and tests share them.
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
