import { Injectable } from '@nestjs/common';
import { TypedEventBus } from '../common/events/typed-event-bus';
import type { RecordingState } from '../recording/chat-facts.port';
import type { MessageView } from './message-view';

export interface ChatAssignment {
  chatId: string;
  service: string;
  customer: { id: string | null; name: string | null };
}

// What happened to a chat, fired after the change committed. The socket notifier tells the
// connected clients; the delivery worker wakes on a chat's end. Chat knows neither.
export type ChatEvents = {
  // A new message, for everyone in the chat except the sending socket.
  'chat.message': { view: MessageView; exceptSocketId?: string };
  'chat.assigned': { companyId: string; agentId: string; assignment: ChatAssignment };
  // An agent left or was transferred out: its sockets leave the chat's room.
  'chat.agentLeft': { companyId: string; agentId: string; chatId: string };
  'chat.recordingState': { chatId: string; state: RecordingState };
  'chat.consentRequested': { chatId: string; prompt: string };
  'chat.deletionRequested': { chatId: string };
  'chat.ended': { chatId: string };
};

@Injectable()
export class ChatEventBus extends TypedEventBus<ChatEvents> {}
