import { Injectable } from '@nestjs/common';
import type { Namespace } from 'socket.io';
import type { MessageView } from '../chat/chat.service';
import { ChatAssignment, ChatNotifier, RecordingState } from '../chat/chat-notifier';
import { emitTo, ServerEvent, ServerEventMap } from './server-events';

export const chatRoom = (chatId: string) => `chat:${chatId}`;
export const agentRoom = (companyId: string, agentId: string) => `agent:${companyId}:${agentId}`;

// The socket.io side of ChatNotifier. Rooms go through the adapter, so with a shared adapter they
// reach sockets on every instance.
@Injectable()
export class SocketNotifier extends ChatNotifier {
  customers: Namespace | null = null;
  agents: Namespace | null = null;

  message(view: MessageView, exceptSocketId?: string): void {
    this.toChat(view.chatId, 'message', view, exceptSocketId);
  }

  recordingState(chatId: string, state: RecordingState): void {
    this.toChat(chatId, 'recording.state', { chatId, state });
  }

  chatEnded(chatId: string): void {
    this.toChat(chatId, 'chat.ended', { chatId });
  }

  consentRequested(chatId: string, prompt: string): void {
    if (this.customers) emitTo(this.customers.to(chatRoom(chatId)), 'consent.request', { prompt });
  }

  deletionRequested(chatId: string): void {
    if (this.agents) emitTo(this.agents.to(chatRoom(chatId)), 'recording.deleteRequested', { chatId });
  }

  assigned(companyId: string, agentId: string, assignment: ChatAssignment): void {
    if (this.agents) emitTo(this.agents.to(agentRoom(companyId, agentId)), 'chat.assigned', assignment);
  }

  detachAgent(companyId: string, agentId: string, chatId: string): void {
    this.agents?.in(agentRoom(companyId, agentId)).socketsLeave(chatRoom(chatId));
  }

  // To everyone in the chat (customer and joined agents), optionally except one socket.
  private toChat<E extends ServerEvent>(chatId: string, event: E, payload: ServerEventMap[E], exceptSocketId?: string): void {
    for (const ns of [this.customers, this.agents]) {
      if (!ns) continue;
      emitTo(exceptSocketId ? ns.to(chatRoom(chatId)).except(exceptSocketId) : ns.to(chatRoom(chatId)), event, payload);
    }
  }
}
