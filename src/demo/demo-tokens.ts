import { Injectable } from '@nestjs/common';
import jwt from 'jsonwebtoken';
import { AppException } from '../common/app.exception';
import { AppConfig } from '../config/app-config';
import type { DemoTokenDto } from './dto/demo.dto';

const TTL_SECONDS = 8 * 3600;

// Mints platform tokens for the demo pages, as `npm run token` does (HS256 with the configured or
// the development secret). Customer tokens come from chat creation, as in production. Never
// registered with NODE_ENV=production.
@Injectable()
export class DemoTokens {
  constructor(private readonly config: AppConfig) {}

  mint(dto: DemoTokenDto): string {
    if (this.config.jwt.algorithm !== 'HS256') {
      throw AppException.conflict('JWT_PUBLIC_KEY is set: platform tokens come from the identity provider, the demo cannot mint them');
    }
    const claims: Record<string, string> = { sub: dto.sub, company: dto.company, role: dto.role };
    if (dto.name) claims.name = dto.name;
    return jwt.sign(claims, this.config.jwt.secret, { algorithm: 'HS256', expiresIn: TTL_SECONDS });
  }
}
