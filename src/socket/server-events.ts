import type { ChatAssignment } from '../chat/chat-events';
import type { RecordingState } from '../recording/chat-facts.port';
import type { MessageView } from '../chat/message-view';

// Every event the server sends to clients (contract section 3), name -> payload. The notifier, the
// gateways and the docs share it; emitting an event not listed here does not compile.
export interface ServerEventMap {
  message: MessageView;
  'recording.state': { chatId: string; state: RecordingState };
  'chat.ended': { chatId: string };
  'consent.request': { prompt: string };
  'recording.deleteRequested': { chatId: string };
  'chat.assigned': ChatAssignment;
  'auth.expired': { reason: string };
}

export type ServerEvent = keyof ServerEventMap;

// A socket.io emitter (socket, namespace, room) narrowed to the map.
export interface ServerEmitter {
  emit(event: string, payload: unknown): boolean;
}

export function emitTo<E extends ServerEvent>(target: ServerEmitter, event: E, payload: ServerEventMap[E]): void {
  target.emit(event, payload);
}
