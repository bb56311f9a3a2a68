import { Module } from '@nestjs/common';
import { ChatEventBus } from './chat-events';

// The chat's after-commit events on their own, so that features the chat module depends on (export
// wakes its worker on 'chat.ended') can listen without importing the chat module.
@Module({ providers: [ChatEventBus], exports: [ChatEventBus] })
export class ChatEventsModule {}
