import type { Server, Socket } from 'socket.io';
import { Principal } from '../auth/principal';

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
    socket.emit('auth.expired', { reason: 'token expired' });
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
