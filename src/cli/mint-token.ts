import jwt from 'jsonwebtoken';
import { loadConfig } from '../config/app-config';
import { ROLES } from '../auth/principal';

// Development helper: mints a token the running service accepts (HS256 with the configured or the
// built-in development secret). Usage:
//   npm run token -- --role agent --company acme --sub agent-1 [--name "Ann"] [--login ann] [--chat ID] [--ttl 3600]
function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const config = loadConfig();
const role = arg('role') ?? 'agent';
if (!(ROLES as readonly string[]).includes(role)) {
  console.error(`--role must be one of ${ROLES.join(', ')}`);
  process.exit(2);
}
const claims: Record<string, unknown> = { sub: arg('sub') ?? `${role}-1`, company: arg('company') ?? 'acme', role };
for (const k of ['name', 'login', 'chat']) if (arg(k)) claims[k] = arg(k);
const ttl = Number(arg('ttl') ?? 8 * 3600);
const secret = role === 'customer' ? config.customerToken.secret : config.jwt.algorithm === 'HS256' ? config.jwt.secret : null;
if (!secret && role === 'customer') {
  console.error('No CUSTOMER_TOKEN_SECRET: the service generated its customer-token key; customer tokens come from chat creation.');
  process.exit(2);
}
if (!secret) {
  console.error('JWT_PUBLIC_KEY is set: platform tokens come from your identity provider, not from this command.');
  process.exit(2);
}
process.stdout.write(jwt.sign(claims, secret, { algorithm: 'HS256', expiresIn: ttl }) + '\n');
