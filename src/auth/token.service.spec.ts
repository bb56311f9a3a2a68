import { generateKeyPairSync } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { AppException } from '../common/app.exception';
import { DEV_JWT_SECRET, loadConfig } from '../config/app-config';
import { CryptoService } from '../security/crypto.service';
import { TokenService } from './token.service';

const SECRET = 'unit-test-secret-0123456789';

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return `${(e as AppException).code}: ${(e as Error).message}`;
  }
  return 'accepted';
}

describe('TokenService', () => {
  const hs = new TokenService(loadConfig({ JWT_SECRET: SECRET }));
  const sign = (claims: object, opts: jwt.SignOptions = {}) => jwt.sign(claims, SECRET, { algorithm: 'HS256', expiresIn: 60, ...opts });

  it('accepts a valid token of an accepted role and returns its principal', () => {
    const p = hs.verify(sign({ sub: 'a1', company: 'acme', role: 'agent', name: 'Ann', login: 'ann' }), ['agent', 'supervisor']);
    expect(p).toEqual({ sub: 'a1', company: 'acme', role: 'agent', name: 'Ann', login: 'ann', exp: expect.any(Number) });
  });

  it('refuses missing, forged, expired, unsigned and wrong-role tokens', () => {
    expect(code(() => hs.verify(undefined, ['agent']))).toBe('unauthorized: missing token');
    expect(code(() => hs.verify(jwt.sign({ sub: 'a', company: 'c', role: 'agent' }, 'other-secret-123456789', { expiresIn: 60 }), ['agent']))).toBe(
      'unauthorized: invalid token',
    );
    expect(code(() => hs.verify(sign({ sub: 'a', company: 'c', role: 'agent' }, { expiresIn: -1 }), ['agent']))).toBe('unauthorized: token expired');
    expect(code(() => hs.verify(jwt.sign({ sub: 'a', company: 'c', role: 'agent', exp: 9e9 }, '', { algorithm: 'none' }), ['agent']))).toBe(
      'unauthorized: invalid token',
    );
    expect(code(() => hs.verify(sign({ sub: 'a', company: 'c', role: 'flow' }), ['agent']))).toMatch(/^forbidden: role flow/);
    expect(code(() => hs.verify(jwt.sign({ sub: 'a', company: 'c', role: 'agent' }, SECRET), ['agent']))).toBe('unauthorized: token has no exp');
  });

  it('refuses a token that names critical header extensions (RFC 7515: none is understood here)', () => {
    const withCrit = sign({ sub: 'a', company: 'c', role: 'agent' }, { header: { alg: 'HS256', crit: ['exp'] } as jwt.JwtHeader });
    expect(code(() => hs.verify(withCrit, ['agent']))).toBe('unauthorized: invalid token: unsupported critical header (crit)');
    // Other header fields are no reason to refuse.
    expect(code(() => hs.verify(sign({ sub: 'a', company: 'c', role: 'agent' }, { keyid: 'k1' }), ['agent']))).toBe('accepted');
  });

  it('checks the claims', () => {
    expect(code(() => hs.verify(sign({ company: 'c', role: 'agent' }), ['agent']))).toMatch(/sub/);
    expect(code(() => hs.verify(sign({ sub: 'a', company: '../x', role: 'agent' }), ['agent']))).toMatch(/company/);
    expect(code(() => hs.verify(sign({ sub: 'a', company: 'c', role: 'root' }), ['agent']))).toMatch(/role/);
    expect(code(() => hs.verify(sign({ sub: 'a', company: 'c', role: 'customer' }), ['customer']))).toMatch(/chat/);
  });

  it('mints customer tokens that verify on the customer side only', () => {
    const t = hs.signCustomerToken('acme', 'chat-1', 'cust-1', 'Alice');
    expect(hs.verify(t, ['customer'])).toEqual({ sub: 'cust-1', company: 'acme', role: 'customer', chat: 'chat-1', name: 'Alice', exp: expect.any(Number) });
    expect(code(() => hs.verify(t, ['agent']))).toMatch(/^forbidden/);
  });

  it('verifies platform tokens with an RS256 public key and still mints customer tokens', () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const rs = new TokenService(
      loadConfig({ JWT_PUBLIC_KEY: publicKey.export({ type: 'spki', format: 'pem' }).toString(), CUSTOMER_TOKEN_SECRET: 'customer-secret-0123456789' }),
    );
    const good = jwt.sign({ sub: 'f', company: 'acme', role: 'flow' }, privateKey, { algorithm: 'RS256', expiresIn: 60 });
    expect(rs.verify(good, ['flow']).role).toBe('flow');
    // an HS256 token signed with the public key text (algorithm confusion) is refused
    expect(code(() => rs.verify(sign({ sub: 'f', company: 'acme', role: 'flow' }), ['flow']))).toBe('unauthorized: invalid token');
    const c = rs.signCustomerToken('acme', 'chat-9', 'cust', null);
    expect(rs.verify(c, ['customer']).chat).toBe('chat-9');
  });

  it('with a public key and no CUSTOMER_TOKEN_SECRET, uses the key kept in the database, never the development secret', async () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const config = loadConfig({ JWT_PUBLIC_KEY: publicKey.export({ type: 'spki', format: 'pem' }).toString() });
    const stored = Buffer.alloc(32, 7);
    const crypto = { serviceKey: (name: string) => Promise.resolve({ key: name === 'customer-token' ? stored : Buffer.alloc(32), sealed: true }) };
    const rs = new TokenService(config, crypto as unknown as CryptoService);
    const claims = { sub: 'c', company: 'acme', role: 'customer', chat: 'chat-1' };
    // Not loaded yet: nothing is signed or accepted.
    expect(code(() => rs.signCustomerToken('acme', 'chat-1', 'c'))).toMatch(/^unavailable/);
    await rs.onModuleInit();
    expect(code(() => rs.verify(jwt.sign(claims, DEV_JWT_SECRET, { algorithm: 'HS256', expiresIn: 60 }), ['customer']))).toBe('unauthorized: invalid token');
    expect(rs.verify(jwt.sign(claims, stored, { algorithm: 'HS256', expiresIn: 60 }), ['customer']).chat).toBe('chat-1');
    expect(rs.verify(rs.signCustomerToken('acme', 'chat-2', 'c'), ['customer']).chat).toBe('chat-2');
  });

  it('refuses a token whose sub, login or company holds a card number, and masks one in its name', () => {
    expect(code(() => hs.verify(sign({ sub: '4111111111111111', company: 'acme', role: 'agent' }), ['agent']))).toBe(
      'unauthorized: token sub must not contain a card number',
    );
    expect(code(() => hs.verify(sign({ sub: 'a', company: 'acme', role: 'agent', login: 'ann 4111 1111 1111 1111' }), ['agent']))).toBe(
      'unauthorized: token login must not contain a card number',
    );
    expect(code(() => hs.verify(sign({ sub: 'a', company: '4111111111111111', role: 'agent' }), ['agent']))).toBe(
      'unauthorized: token company must not contain a card number',
    );
    expect(hs.verify(sign({ sub: 'a', company: 'acme', role: 'agent', name: 'Ann 4111-1111-1111-1111' }), ['agent']).name).toBe('Ann 411111******1111');
  });
});
