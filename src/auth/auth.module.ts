import { Module } from '@nestjs/common';
import { SecurityModule } from '../security/security.module';
import { AuthGuard } from './auth.guard';
import { RateLimiter } from './rate-limiter';
import { TokenService } from './token.service';

// Tokens, the REST guard and the per-principal rate limits that both REST and sockets apply.
// TokenService keeps a generated customer-token key through CryptoService (an optional injection:
// without this import it would silently be missing).
@Module({
  imports: [SecurityModule],
  providers: [TokenService, AuthGuard, RateLimiter],
  exports: [TokenService, AuthGuard, RateLimiter],
})
export class AuthModule {}
