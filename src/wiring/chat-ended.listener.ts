import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { ChatEventBus } from '../chat/chat-events';
import { DeliverySignal } from '../export/delivery-signal';

// A chat's end (after its commit) wakes the local delivery worker at once instead of at its next
// poll. Subscribed at bootstrap, after the socket notifier, so clients hear of the end first.
@Injectable()
export class ChatEndedListener implements OnApplicationBootstrap {
  constructor(
    private readonly bus: ChatEventBus,
    private readonly signal: DeliverySignal,
  ) {}

  onApplicationBootstrap(): void {
    this.bus.on('chat.ended', () => this.signal.wake());
  }
}
