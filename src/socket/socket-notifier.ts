import { Injectable } from '@nestjs/common';
import type { Namespace } from 'socket.io';
import { ChatEventBus } from '../chat/chat-events';
import { AppConfig } from '../config/app-config';
import { emitTo, ServerEvent, ServerEventMap } from './server-events';

export const chatRoom = (chatId: string) => `chat:${chatId}`;
export const agentRoom = (companyId: string, agentId: string) => `agent:${companyId}:${agentId}`;

// Tells connected clients what chat services did, once it committed: it listens to the chat's
// events and emits the contract's server events. Rooms go through the adapter, so with a shared
// adapter they reach sockets on every instance.
@Injectable()
export class SocketNotifier {
  customers: Namespace | null = null;
  agents: Namespace | null = null;

  // Without Redis (main.ts installs its adapter only with REDIS_URL) every room's members are
  // sockets of this instance, so an empty room can be known to be empty.
  private readonly roomsAreLocal: boolean;

  constructor(bus: ChatEventBus, config: AppConfig) {
    this.roomsAreLocal = !config.redisUrl;
    bus.on('chat.message', ({ view, exceptSocketId }) => this.toChat(view.chatId, 'message', view, exceptSocketId));
    bus.on('chat.recordingState', ({ chatId, state }) => this.toChat(chatId, 'recording.state', { chatId, state }));
    bus.on('chat.ended', ({ chatId }) => this.toChat(chatId, 'chat.ended', { chatId }));
    bus.on('chat.consentRequested', ({ chatId, prompt }) => {
      if (this.customers) emitTo(this.customers.to(chatRoom(chatId)), 'consent.request', { prompt });
    });
    bus.on('chat.deletionRequested', ({ chatId }) => {
      if (this.agents) emitTo(this.agents.to(chatRoom(chatId)), 'recording.deleteRequested', { chatId });
    });
    bus.on('chat.assigned', ({ companyId, agentId, assignment }) => {
      if (this.agents) emitTo(this.agents.to(agentRoom(companyId, agentId)), 'chat.assigned', assignment);
    });
    // Room membership authorises an agent's events on a chat: an agent that left loses it.
    bus.on('chat.agentLeft', ({ companyId, agentId, chatId }) => this.agents?.in(agentRoom(companyId, agentId)).socketsLeave(chatRoom(chatId)));
  }

  // To everyone in the chat (customer and joined agents), optionally except one socket.
  private toChat<E extends ServerEvent>(chatId: string, event: E, payload: ServerEventMap[E], exceptSocketId?: string): void {
    const room = chatRoom(chatId);
    for (const ns of [this.customers, this.agents]) {
      if (!ns || !this.mayHaveListeners(ns, room, exceptSocketId)) continue;
      emitTo(exceptSocketId ? ns.to(room).except(exceptSocketId) : ns.to(room), event, payload);
    }
  }

  // False when nobody but the sender is in the room here and no other instance can have members:
  // socket.io would still encode the packet for nobody (in the relay, every message's own namespace
  // holds only its sender). With a shared adapter, members elsewhere are not known here.
  private mayHaveListeners(ns: Namespace, room: string, exceptSocketId?: string): boolean {
    if (!this.roomsAreLocal) return true;
    const members = ns.adapter.rooms.get(room);
    if (!members) return false;
    return members.size > (exceptSocketId !== undefined && members.has(exceptSocketId) ? 1 : 0);
  }
}
