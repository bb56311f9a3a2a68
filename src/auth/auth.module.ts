import { Module } from '@nestjs/common';
import { AuthGuard } from './auth.guard';
import { RateLimiter } from './rate-limiter';
import { TokenService } from './token.service';

// Tokens, the REST guard and the per-principal rate limits that both REST and sockets apply.
@Module({ providers: [TokenService, AuthGuard, RateLimiter], exports: [TokenService, AuthGuard, RateLimiter] })
export class AuthModule {}
