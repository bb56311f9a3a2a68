import { Module } from '@nestjs/common';
import { ChatEventsModule } from '../chat/chat-events.module';
import { ExportModule } from '../export/export.module';
import { ChatEndedListener } from './chat-ended.listener';

// The composition root's wiring: the one place allowed to connect one feature's events to another
// feature (here chat's 'chat.ended' to export's delivery signal), so that no lower feature imports
// a higher one to listen to it. Imported by AppModule only.
@Module({ imports: [ChatEventsModule, ExportModule], providers: [ChatEndedListener] })
export class WiringModule {}
