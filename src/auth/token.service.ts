import { createPublicKey, createSecretKey, KeyObject } from 'node:crypto';
import { Injectable, Logger, OnModuleInit, Optional } from '@nestjs/common';
import jwt from 'jsonwebtoken';
import { AppConfig } from '../config/app-config';
import { AppException } from '../common/app.exception';
import { containsCardNumber, redactCardData } from '../common/redact-card-data';
import { CryptoService } from '../security/crypto.service';
import { Principal, Role, ROLES } from './principal';

const COMPANY_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export class AuthError extends AppException {
  constructor(
    code: 'unauthorized' | 'forbidden',
    message: string,
    // Set when the token was genuine but its role is refused: the refusal can then be audited.
    readonly principal?: Principal,
  ) {
    super(code, message);
  }
}

export const CUSTOMER_TOKEN_KEY_NAME = 'customer-token';

@Injectable()
export class TokenService implements OnModuleInit {
  private readonly logger = new Logger(TokenService.name);
  // Keys parsed once: given a string, jsonwebtoken parses it on every call (and first tries it as
  // a public key, which throws), a large share of the cost of each request.
  private readonly platformKey: KeyObject;
  // Null until loaded from the database when none is configured (see onModuleInit).
  private customerKey: KeyObject | null;

  constructor(
    private readonly config: AppConfig,
    @Optional() private readonly crypto?: CryptoService,
  ) {
    this.platformKey = config.jwt.algorithm === 'RS256' ? createPublicKey(config.jwt.publicKey) : createSecretKey(Buffer.from(config.jwt.secret, 'utf8'));
    const secret = config.customerToken.secret;
    this.customerKey = secret === null ? null : createSecretKey(Buffer.from(secret, 'utf8'));
  }

  // Without a configured customer-token key (JWT_PUBLIC_KEY and no CUSTOMER_TOKEN_SECRET) the key
  // is generated once and kept in the database, so that every instance signs and verifies with
  // the same one. Never a key from the source.
  async onModuleInit(): Promise<void> {
    if (this.customerKey) return;
    if (!this.crypto) throw new Error('no customer-token key is configured and none can be loaded');
    const { key, sealed } = await this.crypto.serviceKey(CUSTOMER_TOKEN_KEY_NAME);
    this.customerKey = createSecretKey(key);
    if (!sealed) {
      this.logger.warn(
        'No CUSTOMER_TOKEN_SECRET and no ENCRYPTION_MASTER_KEY: the generated customer-token key is kept unsealed in the database, so database read access allows forging customer tokens; set one of them',
      );
    }
  }

  private customerKeyOrFail(): KeyObject {
    if (!this.customerKey) throw new AppException('unavailable', 'the customer-token key is not loaded yet');
    return this.customerKey;
  }

  // Verifies signature, expiry and claims, then the role against what the caller accepts.
  verify(token: unknown, accepted: readonly Role[]): Principal {
    if (typeof token !== 'string' || token.length === 0) throw new AuthError('unauthorized', 'missing token');
    if (token.length > 8192) throw new AuthError('unauthorized', 'token too long');
    const customerOnly = accepted.length === 1 && accepted[0] === 'customer';
    let verified: jwt.Jwt;
    try {
      if (customerOnly) verified = jwt.verify(token, this.customerKeyOrFail(), { algorithms: ['HS256'], complete: true });
      else verified = jwt.verify(token, this.platformKey, { algorithms: [this.config.jwt.algorithm], complete: true });
    } catch (e) {
      const reason = e instanceof jwt.TokenExpiredError ? 'token expired' : 'invalid token';
      throw new AuthError('unauthorized', reason);
    }
    // RFC 7515 4.1.11: a token naming critical header extensions must be refused by a reader that
    // does not understand them, and this service understands none.
    if ((verified.header as { crit?: unknown }).crit !== undefined) throw new AuthError('unauthorized', 'invalid token: unsupported critical header (crit)');
    const payload = verified.payload;
    const principal = principalOf(payload);
    if (!accepted.includes(principal.role)) {
      throw new AuthError('forbidden', `role ${principal.role} may not use this (needs ${accepted.join(' or ')})`, principal);
    }
    return principal;
  }

  signCustomerToken(company: string, chatId: string, sub: string, name?: string | null): string {
    const claims: Record<string, unknown> = { sub, company, role: 'customer', chat: chatId };
    if (name) claims.name = name;
    return jwt.sign(claims, this.customerKeyOrFail(), {
      algorithm: 'HS256',
      expiresIn: this.config.customerToken.ttlSeconds,
    });
  }
}

// A verified token's claims as the service reads them; AuthError says which claim is wrong. The
// token command (src/cli/mint-token.ts) checks what it mints with it.
export function principalOf(payload: jwt.JwtPayload | string): Principal {
  if (typeof payload !== 'object' || payload === null) throw new AuthError('unauthorized', 'invalid token claims');
  const { sub, company, role, chat, name, login, exp } = payload as Record<string, unknown>;
  if (typeof exp !== 'number') throw new AuthError('unauthorized', 'token has no exp');
  // A customer's sub is the customer id the flow gave (up to 255 characters, the width of every
  // column it goes to); a platform user's is stored where 128 fit.
  // In characters (code points), as the columns count them: an emoji is one, not two UTF-16 units.
  const subMax = role === 'customer' ? 255 : 128;
  if (typeof sub !== 'string' || sub.length === 0 || !sub.isWellFormed() || (sub.length > subMax && [...sub].length > subMax))
    throw new AuthError('unauthorized', 'token sub is missing or invalid');
  if (typeof company !== 'string' || !COMPANY_RE.test(company)) throw new AuthError('unauthorized', 'token company is missing or invalid');
  if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role)) throw new AuthError('unauthorized', 'token role is missing or invalid');
  const p: Principal = { sub, company, role: role as Role, exp };
  if (role === 'customer') {
    if (typeof chat !== 'string' || chat.length === 0 || chat.length > 64) throw new AuthError('unauthorized', 'customer token has no chat');
    p.chat = chat;
  }
  // Contract section 8: identifiers holding a card number are refused (never silently changed, so
  // the token is refused with the reason); a display name is free text and is masked.
  for (const [claim, value] of [
    ['sub', sub],
    ['company', company],
    ['login', login],
  ] as const) {
    if (typeof value === 'string' && containsCardNumber(value)) throw new AuthError('unauthorized', `token ${claim} must not contain a card number`);
  }
  if (typeof name === 'string' && name.length <= 255) p.name = redactCardData(name);
  if (typeof login === 'string' && login.length <= 255) p.login = login;
  return p;
}
