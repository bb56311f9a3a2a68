export type Role = 'customer' | 'agent' | 'supervisor' | 'flow' | 'admin';
export const ROLES: readonly Role[] = ['customer', 'agent', 'supervisor', 'flow', 'admin'];

// Who is calling, from a verified token. Everything they touch is scoped to `company`.
export interface Principal {
  sub: string;
  company: string;
  role: Role;
  chat?: string;
  name?: string;
  login?: string;
  // The token's expiry (seconds since the epoch): sockets outlive their handshake and check it.
  exp?: number;
}
