import type { MessageView } from './chat.service';

// What chat services tell connected clients, by what happened rather than by event name. The socket
// notifier implements it; chat never imports socket.io, and tests can use a recording fake.
export type RecordingState = 'recording' | 'paused' | 'off';

export interface ChatAssignment {
  chatId: string;
  service: string;
  customer: { id: string | null; name: string | null };
}

export abstract class ChatNotifier {
  // To everyone in the chat (customer and joined agents), except the sending socket.
  abstract message(view: MessageView, exceptSocketId?: string): void;
  abstract recordingState(chatId: string, state: RecordingState): void;
  abstract chatEnded(chatId: string): void;
  abstract consentRequested(chatId: string, prompt: string): void;
  abstract deletionRequested(chatId: string): void;
  abstract assigned(companyId: string, agentId: string, assignment: ChatAssignment): void;
  // Removes an agent's sockets from the chat room (leave, transfer): room membership is what
  // authorises an agent's later events on that chat.
  abstract detachAgent(companyId: string, agentId: string, chatId: string): void;
}

export class NullNotifier extends ChatNotifier {
  message(): void {}
  recordingState(): void {}
  chatEnded(): void {}
  consentRequested(): void {}
  deletionRequested(): void {}
  assigned(): void {}
  detachAgent(): void {}
}
