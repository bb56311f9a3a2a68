import { Global, Module } from '@nestjs/common';
import { Clock } from './clock';
import { GracefulShutdown } from './graceful-shutdown';

// The clock every feature reads, and the graceful stop every feature registers its part in,
// global like the config and the data source.
@Global()
@Module({ providers: [Clock, GracefulShutdown], exports: [Clock, GracefulShutdown] })
export class CommonModule {}
