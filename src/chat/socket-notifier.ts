import { Injectable } from '@nestjs/common';
import type { Namespace } from 'socket.io';
import { ChatNotifier } from './chat-notifier';

export const chatRoom = (chatId: string) => `chat:${chatId}`;
export const agentRoom = (companyId: string, agentId: string) => `agent:${companyId}:${agentId}`;

// The socket.io side of ChatNotifier. Rooms go through the adapter, so with a shared adapter they
// reach sockets on every instance.
@Injectable()
export class SocketNotifier extends ChatNotifier {
  customers: Namespace | null = null;
  agents: Namespace | null = null;

  toChat(chatId: string, event: string, payload: unknown, exceptSocketId?: string): void {
    for (const ns of [this.customers, this.agents]) {
      if (!ns) continue;
      const target = exceptSocketId ? ns.to(chatRoom(chatId)).except(exceptSocketId) : ns.to(chatRoom(chatId));
      target.emit(event, payload);
    }
  }

  toCustomer(chatId: string, event: string, payload: unknown): void {
    this.customers?.to(chatRoom(chatId)).emit(event, payload);
  }

  toAgents(chatId: string, event: string, payload: unknown): void {
    this.agents?.to(chatRoom(chatId)).emit(event, payload);
  }

  toAgent(companyId: string, agentId: string, event: string, payload: unknown): void {
    this.agents?.to(agentRoom(companyId, agentId)).emit(event, payload);
  }

  detachAgent(companyId: string, agentId: string, chatId: string): void {
    this.agents?.in(agentRoom(companyId, agentId)).socketsLeave(chatRoom(chatId));
  }
}
