// What services tell connected clients. The socket gateways implement it; services never import
// socket.io, and tests can use a recording fake.
export type RecordingState = 'recording' | 'paused' | 'off';

export abstract class ChatNotifier {
  // To everyone in the chat (customer and joined agents), optionally except one socket.
  abstract toChat(chatId: string, event: string, payload: unknown, exceptSocketId?: string): void;
  abstract toCustomer(chatId: string, event: string, payload: unknown): void;
  abstract toAgents(chatId: string, event: string, payload: unknown): void;
  abstract toAgent(companyId: string, agentId: string, event: string, payload: unknown): void;
  // Removes an agent's sockets from the chat room (leave, transfer): room membership is what
  // authorises an agent's later events on that chat.
  abstract detachAgent(companyId: string, agentId: string, chatId: string): void;
}

export class NullNotifier extends ChatNotifier {
  toChat(): void {}
  toCustomer(): void {}
  toAgents(): void {}
  toAgent(): void {}
  detachAgent(): void {}
}
