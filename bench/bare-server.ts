import { createServer } from 'node:http';
import { Server } from 'socket.io';

// The ceiling for the relay bench: a bare socket.io server on the same machine that does the least
// a relay can do (ack each message, pass it to the other side of the room), driven by the same
// load generator as the service.
const port = Number(process.argv[2] ?? 0);
const http = createServer();
const io = new Server(http, { maxHttpBufferSize: 1_000_000 });
let seq = 0;
for (const name of ['/customer', '/agent']) {
  const ns = io.of(name);
  ns.on('connection', (socket) => {
    const auth = socket.handshake.auth as { chatId?: string };
    const room = `chat:${auth.chatId ?? 'none'}`;
    void socket.join(room);
    socket.on('message', (payload: { text?: string }, ack?: (r: unknown) => void) => {
      const at = new Date().toISOString();
      seq++;
      for (const n of ['/customer', '/agent']) io.of(n).to(room).except(socket.id).emit('message', { seq, text: payload?.text, at });
      ack?.({ ok: true, seq, at });
    });
  });
}
http.listen(port, '127.0.0.1', () => {
  const addr = http.address();
  process.stdout.write(`listening ${typeof addr === 'object' && addr ? addr.port : port}\n`);
});
