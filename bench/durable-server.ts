import { createServer } from 'node:http';
import { createConnection } from 'mysql2/promise';
import { Server } from 'socket.io';

// The durable ceiling for the relay bench: the bare socket.io server plus storage at the physical
// limit. Every message is stored in MariaDB (the bench's database, the server's own settings) by
// group commit: the messages that arrive while a transaction is in flight go into the next one,
// one multi-row INSERT per transaction, and each is acked and relayed only after its COMMIT.
// No validation, no framework. Usage: node durable-server.js PORT DATABASE_URL
const port = Number(process.argv[2] ?? 0);
const databaseUrl = process.argv[3];
type Pending = { chatId: string; seq: number; body: string; done: () => void };
const queue: Pending[] = [];
let flushing = false;

async function main(): Promise<void> {
  const db = await createConnection({ uri: databaseUrl, trace: false });
  await db.query('CREATE TABLE IF NOT EXISTS bench_messages (chat_id VARCHAR(64) NOT NULL, seq BIGINT NOT NULL, body TEXT, PRIMARY KEY (chat_id, seq))');
  const flush = async () => {
    flushing = true;
    while (queue.length > 0) {
      const batch = queue.splice(0, 500);
      await db.beginTransaction();
      await db.query('INSERT INTO bench_messages (chat_id, seq, body) VALUES ?', [batch.map((p) => [p.chatId, p.seq, p.body])]);
      await db.commit();
      // Acks and relays of this batch run while the next transaction is on its way.
      setImmediate(() => batch.forEach((p) => p.done()));
    }
    flushing = false;
  };
  const seqs = new Map<string, number>();
  const http = createServer();
  const io = new Server(http, { maxHttpBufferSize: 1_000_000 });
  for (const name of ['/customer', '/agent']) {
    io.of(name).on('connection', (socket) => {
      const chatId = String((socket.handshake.auth as { chatId?: string }).chatId ?? 'none');
      const room = `chat:${chatId}`;
      void socket.join(room);
      socket.on('message', (payload: { text?: string }, ack?: (r: unknown) => void) => {
        const seq = (seqs.get(chatId) ?? 0) + 1;
        seqs.set(chatId, seq);
        const text = String(payload?.text ?? '');
        queue.push({
          chatId,
          seq,
          body: text,
          done: () => {
            const at = new Date().toISOString();
            for (const n of ['/customer', '/agent']) io.of(n).to(room).except(socket.id).emit('message', { seq, text, at });
            ack?.({ ok: true, seq, at });
          },
        });
        if (!flushing) setImmediate(() => void flush().catch((err: Error) => (console.error(err), process.exit(1))));
        flushing = true;
      });
    });
  }
  http.listen(port, '127.0.0.1', () => process.stdout.write(`listening ${port}\n`));
  process.on('SIGTERM', () => void db.end().finally(() => process.exit(0)));
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
