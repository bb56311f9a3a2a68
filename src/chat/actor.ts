import type { Principal } from '../auth/principal';
import type { SenderRole } from './message.entity';

// Who did something to a chat, as its markers name them.
export interface Actor {
  role: SenderRole | 'system';
  id: string | null;
  name: string | null;
}

export function actorOf(p: Principal): Actor {
  return { role: p.role === 'admin' ? 'flow' : (p.role as SenderRole), id: p.sub, name: p.name ?? null };
}
