import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { AuthModule } from '../auth/auth.module';
import { ChatModule } from '../chat/chat.module';
import { AgentGateway } from './agent.gateway';
import { AsyncApiController } from './asyncapi.controller';
import { CustomerGateway } from './customer.gateway';
import { SocketDispatcher } from './socket-dispatcher';
import { SocketDrain } from './socket-drain';
import { SocketNotifier } from './socket-notifier';

// The socket.io transport: the two namespaces, their dispatcher, the notifier and their part of a
// graceful stop.
@Module({
  imports: [AuditModule, AuthModule, ChatModule],
  controllers: [AsyncApiController],
  providers: [SocketNotifier, SocketDispatcher, SocketDrain, CustomerGateway, AgentGateway],
  exports: [SocketNotifier],
})
export class SocketModule {}
