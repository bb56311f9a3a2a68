import type { Server } from 'socket.io';

// What is used here of an engine.io connection and its WebSocket transport (engine.io's typings
// keep them internal; the versions are pinned by the lock file and the unit spec runs them).
interface EngineConnection {
  flush(): void;
  transport?: { name?: string; socket?: { _socket?: Corkable } };
}

interface Corkable {
  cork(): void;
  uncork(): void;
}

const coalesced = new WeakSet<object>();

/**
 * Coalesces each connection's writes of one turn of the event loop into one write to its TCP
 * socket. engine.io sends a packet as soon as it is emitted, and ws writes each WebSocket frame
 * with a system call of its own, so a socket that got an ack and a relayed message in the same turn
 * (the common case after a group commit answers a batch) cost two system calls, together more than
 * a quarter of the relay's busy thread (README, Performance). Here a connection's packets of the
 * turn are flushed together once the turn's promise continuations have run (process.nextTick),
 * with its TCP socket corked, so they leave in one write. Order, send callbacks and the transports'
 * own gating are engine.io's, unchanged; a polling connection only has its flush moved to the end
 * of the turn.
 */
export function coalesceEngineWrites(server: Server): void {
  const engine = server.engine as unknown as { on(event: 'connection', fn: (c: EngineConnection) => void): void };
  if (coalesced.has(engine)) return;
  coalesced.add(engine);
  engine.on('connection', (conn) => coalesceConnection(conn));
}

function coalesceConnection(conn: EngineConnection): void {
  const flushNow = conn.flush;
  let due = false;
  const run = () => {
    due = false;
    const t = conn.transport;
    const tcp = t?.name === 'websocket' ? t.socket?._socket : undefined;
    tcp?.cork();
    try {
      flushNow.call(conn);
    } finally {
      tcp?.uncork();
    }
  };
  conn.flush = () => {
    if (due) return;
    due = true;
    process.nextTick(run);
  };
}
