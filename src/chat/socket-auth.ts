import type { Socket } from 'socket.io';
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
