import type { MessageView } from '../chat/message-view.js';

// The socket.io protocol's server side (contract section 3). This file and client-events.ts import
// nothing but plain types (checked by depcruise), so that the client library (client/) compiles
// against the same maps without pulling Nest or class-validator into a browser bundle. Their
// relative imports name the file with `.js`: the client's declarations are emitted from these
// files into an ESM package, where Node's resolution (nodenext/node16) needs the extension
// (test/client-types.test.ts).

export type RecordingStateValue = 'recording' | 'paused' | 'off';

export interface ChatAssignedPayload {
  chatId: string;
  service: string;
  customer: { id: string | null; name: string | null };
}

// Every event the server sends to clients, name -> payload. The notifier, the gateways, the client
// library and the AsyncAPI document share it; emitting an event not listed here does not compile.
export interface ServerEventMap {
  message: MessageView;
  'recording.state': { chatId: string; state: RecordingStateValue };
  'chat.ended': { chatId: string };
  'consent.request': { prompt: string };
  'recording.deleteRequested': { chatId: string };
  'chat.assigned': ChatAssignedPayload;
  'auth.expired': { reason: string };
}

export type ServerEvent = keyof ServerEventMap;

// Which namespace hears which server event (the AsyncAPI document and the client library use it).
export const SERVER_EVENTS: Record<ServerEvent, readonly ('/customer' | '/agent')[]> = {
  message: ['/customer', '/agent'],
  'recording.state': ['/customer', '/agent'],
  'chat.ended': ['/customer', '/agent'],
  'consent.request': ['/customer'],
  'recording.deleteRequested': ['/agent'],
  'chat.assigned': ['/agent'],
  'auth.expired': ['/customer', '/agent'],
};

// A socket.io emitter (socket, namespace, room) narrowed to the map.
export interface ServerEmitter {
  emit(event: string, payload: unknown): boolean;
}

export function emitTo<E extends ServerEvent>(target: ServerEmitter, event: E, payload: ServerEventMap[E]): void {
  target.emit(event, payload);
}
