import { parseArgs } from 'node:util';
import jwt from 'jsonwebtoken';
import { ConfigError, loadConfig } from '../config/app-config';
import { ROLES } from '../auth/principal';
import { AuthError, principalOf } from '../auth/token.service';

// Development helper: mints a token the running service accepts (HS256 with the configured or the
// built-in development secret). Prints the token and exits 0; a usage error prints what is wrong
// and the usage, and exits 2. What it mints is checked as the service checks a token's claims.
const USAGE =
  'usage: npm run token -- --role ROLE --company COMPANY --sub SUBJECT [--name NAME] [--login LOGIN] [--chat CHAT_ID] [--ttl SECONDS]\n' +
  `       ROLE: ${ROLES.join(', ')}; --chat is for customer tokens only; --ttl 1 to 31536000, 28800 (8 h) when not given`;

class UsageError extends Error {}

function mint(argv: string[]): string {
  let values: Record<string, string | undefined>;
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: Object.fromEntries(['role', 'company', 'sub', 'name', 'login', 'chat', 'ttl'].map((k) => [k, { type: 'string' as const }])),
    }).values as Record<string, string | undefined>;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  for (const k of ['role', 'company', 'sub'] as const) if (!values[k]) throw new UsageError(`--${k} is required`);
  const role = values.role as string;
  if (!(ROLES as readonly string[]).includes(role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
  if (values.chat !== undefined && role !== 'customer') throw new UsageError('--chat is for customer tokens only');
  if (role === 'customer' && !values.chat) throw new UsageError('--chat is required for a customer token');
  if (values.name !== undefined && values.name.length > 255) throw new UsageError('--name is longer than 255 characters');
  if (values.login !== undefined && values.login.length > 255) throw new UsageError('--login is longer than 255 characters');
  const ttlText = values.ttl ?? '28800';
  const ttl = /^\d{1,8}$/.test(ttlText) ? Number(ttlText) : NaN;
  if (!(ttl >= 1 && ttl <= 31_536_000)) throw new UsageError('--ttl must be a whole number of seconds from 1 to 31536000');

  const config = loadConfig();
  const claims: Record<string, unknown> = { sub: values.sub, company: values.company, role };
  for (const k of ['name', 'login', 'chat'] as const) if (values[k] !== undefined) claims[k] = values[k];
  try {
    principalOf({ ...claims, exp: Math.floor(Date.now() / 1000) + ttl });
  } catch (err) {
    if (err instanceof AuthError) throw new UsageError(`the service would refuse this token: ${err.message}`);
    throw err;
  }
  const secret = role === 'customer' ? config.customerToken.secret : config.jwt.algorithm === 'HS256' ? config.jwt.secret : null;
  if (!secret && role === 'customer') {
    throw new UsageError('No CUSTOMER_TOKEN_SECRET: the service generated its customer-token key; customer tokens come from chat creation.');
  }
  if (!secret) throw new UsageError('JWT_PUBLIC_KEY is set: platform tokens come from your identity provider, not from this command.');
  return jwt.sign(claims, secret, { algorithm: 'HS256', expiresIn: ttl });
}

try {
  process.stdout.write(mint(process.argv.slice(2)) + '\n');
} catch (err) {
  if (err instanceof UsageError || err instanceof ConfigError) {
    console.error(`${err instanceof ConfigError ? 'configuration error: ' : ''}${err.message}\n${USAGE}`);
    process.exit(2);
  }
  throw err;
}
