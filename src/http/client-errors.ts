import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';

// Requests that Node's HTTP parser refuses before any route sees them (headers over Node's limit,
// a malformed request line) get the same JSON error body as every other refusal (contract section
// 6: a 4xx JSON body), instead of Node's bare status line: 431 for headers too large, else 400.
export function answerParserErrorsWithJson(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
    const status = tooLarge ? 431 : 400;
    const body = JSON.stringify({
      statusCode: status,
      code: 'bad_request',
      message: tooLarge ? 'the request headers are too large' : 'the request is not valid HTTP',
    });
    socket.end(
      `HTTP/1.1 ${status} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}
