import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import jwt from 'jsonwebtoken';
import { ROOT, TEST_JWT_SECRET } from './support/app';

// `npm run token` (README): mints a token the service accepts, or says what is wrong and exits 2.
const run = (...args: string[]) =>
  spawnSync(process.execPath, [join(ROOT, 'dist', 'src', 'cli', 'mint-token.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, NODE_ENV: 'test', JWT_SECRET: TEST_JWT_SECRET },
    timeout: 30_000,
  });

describe('npm run token', () => {
  it('mints the claims it was given, for the time given', () => {
    const r = run('--role', 'agent', '--company', 'acme', '--sub', 'agent-1', '--name', 'Ann', '--login', 'ann', '--ttl', '600');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const claims = jwt.verify(r.stdout.trim(), TEST_JWT_SECRET, { algorithms: ['HS256'] }) as jwt.JwtPayload;
    expect(claims).toMatchObject({ role: 'agent', company: 'acme', sub: 'agent-1', name: 'Ann', login: 'ann' });
    expect((claims.exp as number) - (claims.iat as number)).toBe(600);
  });

  it.each([
    [[], '--role is required'],
    [['--role', 'flow', '--sub', 'f'], '--company is required'],
    [['--role', 'flow', '--company', 'acme'], '--sub is required'],
    [['--role', 'boss', '--company', 'acme', '--sub', 'f'], '--role must be one of'],
    [['--role', 'flow', '--company', 'acme', '--sub', 'f', '--comapny', 'x'], "Unknown option '--comapny'"],
    [['--role', 'flow', '--company', 'acme', '--sub', 'f', 'extra'], 'positional argument'],
    [['--role', 'flow', '--company', 'acme', '--sub', 'f', '--ttl', '8h'], '--ttl must be a whole number of seconds'],
    [['--role', 'flow', '--company', 'acme', '--sub', 'f', '--ttl', '0'], '--ttl must be a whole number of seconds'],
    [['--role', 'flow', '--company', 'a b', '--sub', 'f'], 'the service would refuse this token: token company is missing or invalid'],
    [['--role', 'agent', '--company', 'acme', '--sub', '4111 1111 1111 1111'], 'token sub must not contain a card number'],
    [['--role', 'agent', '--company', 'acme', '--sub', 'a', '--chat', 'c'], '--chat is for customer tokens only'],
    [['--role', 'agent', '--company', 'acme', '--sub', 'a', '--name', 'x'.repeat(256)], '--name is longer than 255 characters'],
  ])('refuses %j with a usage error', (args, message) => {
    const r = run(...args);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain('usage: npm run token --');
  });
});
