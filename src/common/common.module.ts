import { Global, Module } from '@nestjs/common';
import { Clock } from './clock';

// The clock every feature reads, global like the config and the data source.
@Global()
@Module({ providers: [Clock], exports: [Clock] })
export class CommonModule {}
