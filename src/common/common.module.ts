import { Global, Module } from '@nestjs/common';
import { Clock } from './clock';
import { RateLimiter } from './rate-limiter';

// Shared I/O behind injectable classes; global because nearly every feature reads the clock.
@Global()
@Module({ providers: [Clock, RateLimiter], exports: [Clock, RateLimiter] })
export class CommonModule {}
