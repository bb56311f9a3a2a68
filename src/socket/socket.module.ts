import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { AuthModule } from '../auth/auth.module';
import { ChatModule } from '../chat/chat.module';
import { AgentGateway } from './agent.gateway';
import { AsyncApiController } from './asyncapi.controller';
import { CustomerGateway } from './customer.gateway';
import { SocketDispatcher } from './socket-dispatcher';
import { SocketNotifier } from './socket-notifier';

// The socket.io transport: the two namespaces, their dispatcher and the notifier.
@Module({
  imports: [AuditModule, AuthModule, ChatModule],
  controllers: [AsyncApiController],
  providers: [SocketNotifier, SocketDispatcher, CustomerGateway, AgentGateway],
  exports: [SocketNotifier],
})
export class SocketModule {}
