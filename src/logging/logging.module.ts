import { DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { AppConfig } from '../config/app-config';
import { pinoParams } from './pino-options';

// Structured logs (nestjs-pino): main.ts makes its Logger the app's, so every `new Logger(ctx)` of
// the features writes through pino.
@Module({})
export class LoggingModule {
  static forRoot(config: AppConfig): DynamicModule {
    return { module: LoggingModule, imports: [LoggerModule.forRoot(pinoParams(config))], exports: [LoggerModule] };
  }
}
