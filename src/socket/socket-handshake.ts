import { Logger } from '@nestjs/common';
import { AppMetrics } from '../metrics/app-metrics';
import type { Namespace, Server, Socket } from 'socket.io';
import { AccessAuditService } from '../audit/access-audit.service';
import { Principal, Role } from '../auth/principal';
import { AuthError, TokenService } from '../auth/token.service';
import { toAppException } from '../common/app.exception';
import { emitTo } from './server-events';

export interface SocketData {
  principal: Principal;
}

export function principalOf(socket: Socket): Principal {
  return (socket.data as SocketData).principal;
}

// The token from the handshake: auth.token first (the contract), then an Authorization header.
export function handshakeToken(socket: Socket): unknown {
  const auth = socket.handshake.auth as Record<string, unknown> | undefined;
  if (auth && auth.token !== undefined) return auth.token;
  const header = socket.handshake.headers.authorization;
  if (typeof header === 'string' && header.startsWith('Bearer ')) return header.slice(7);
  return undefined;
}

export function connectError(code: string, message: string): Error {
  const err = new Error(message) as Error & { data?: unknown };
  err.data = { code, message };
  return err;
}

export const TOKEN_EXPIRED = { ok: false, error: { code: 'unauthorized', message: 'token expired' } };

// setTimeout fires at once for delays above 2^31-1 ms (about 24.8 days).
const MAX_TIMER_MS = 2 ** 31 - 1;

// The handshake checks the token once; a socket lives on. True once the token's exp has passed
// (jsonwebtoken's own rule: expired from the second exp on).
export function tokenExpired(socket: Socket): boolean {
  const exp = principalOf(socket)?.exp;
  return typeof exp === 'number' && Date.now() >= exp * 1000;
}

// When the token expires the socket hears `auth.expired {reason}` and is disconnected (socket.io
// cannot give a server-side disconnect a reason of its own). The timer ends with the socket.
export function disconnectOnExpiry(socket: Socket): void {
  const exp = principalOf(socket)?.exp;
  if (typeof exp !== 'number') return;
  let timer: NodeJS.Timeout | null = null;
  const arm = () => {
    timer = null;
    const left = exp * 1000 - Date.now();
    if (left > 0) {
      timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
      // An open socket keeps the process alive, not its expiry timer.
      timer.unref();
      return;
    }
    emitTo(socket, 'auth.expired', { reason: 'token expired' });
    socket.disconnect(true);
  };
  socket.once('disconnect', () => {
    if (timer) clearTimeout(timer);
    timer = null;
  });
  arm();
}

// Clients use /customer and /agent; the default namespace has no events and no authentication of
// its own, so every connection to it is refused.
const refusing = new WeakSet<Server>();
export function refuseDefaultNamespace(server: Server): void {
  if (refusing.has(server)) return;
  refusing.add(server);
  server.of('/').use((_socket, next) => next(connectError('not_found', 'no such namespace: connect to /customer or /agent')));
}

export interface HandshakeDeps {
  tokens: TokenService;
  access: AccessAuditService;
  logger: Logger;
  metrics: AppMetrics;
}

// The one handshake of both namespaces: authentication runs at connection (message guards do not),
// for every (re)connection. The token's role must be one of `roles`; `check` may refuse more (the
// customer's chat must exist). Refusals are audited and answered with the contract's {code, message}.
export function authenticateNamespace(ns: Namespace, roles: Role[], deps: HandshakeDeps, check?: (p: Principal) => Promise<void>): void {
  refuseDefaultNamespace(ns.server);
  const label = ns.name.replace(/^\//, '');
  ns.use((socket, next) => {
    const refuse = (err: unknown) => {
      const known = toAppException(err);
      if (err instanceof AuthError && err.principal) deps.access.denied(err.principal, `connect ${ns.name}`, null, err.code, err.message);
      deps.logger.debug({ msg: `${label} connection refused: ${known?.message ?? (err as Error).message}`, code: known?.code ?? 'unavailable' });
      deps.metrics.connections.inc({ namespace: ns.name, outcome: known?.code ?? 'unavailable' });
      next(connectError(known?.code ?? 'unavailable', known?.message ?? 'internal error'));
    };
    const accept = (principal: Principal) => {
      deps.metrics.connections.inc({ namespace: ns.name, outcome: 'accepted' });
      deps.logger.debug({ msg: `${label} connected`, companyId: principal.company, userId: principal.sub, chatId: principal.chat });
      (socket.data as SocketData) = { principal };
      next();
    };
    try {
      const principal = deps.tokens.verify(handshakeToken(socket), roles);
      if (!check) return accept(principal);
      check(principal).then(() => accept(principal), refuse);
    } catch (err) {
      refuse(err);
    }
  });
}
