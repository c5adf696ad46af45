import { type Server, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

// A client's malformed or too slow request (the HTTP parser's errors, the
// headers and request timeouts, a TLS handshake that never finishes) is
// answered as Fastify's own handler answers it (408, 431 or 400, same body)
// and its socket destroyed without the error. Given the error, the socket's
// destroy reads its `stack` (Node's streams do, to keep it), and with
// --enable-source-maps each stack is mapped through the bundle's source
// map on the event loop: bench:attacks slowloris (600 sockets), standalone,
// 25 ms of stack formatting in bursts of timeouts and parse errors. Errors
// of the plain-HTTP side of a TLS port had no handler at all (Node's
// default, which destroys with the error).

const answers = new Map<string | undefined, string>();

function answer(code: string | undefined): string {
  const known = answers.get(code);
  if (known) return known;
  const [status, message] =
    code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'Client Timeout']
      : code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Exceeded maximum allowed HTTP header size']
        : [400, 'Client Error'];
  const label = STATUS_CODES[status];
  const body = `{"error":"${label}","message":"${message}","statusCode":${status}}`;
  const text = `HTTP/1.1 ${status} ${label}\r\nContent-Length: ${body.length}\r\nContent-Type: application/json\r\n\r\n${body}`;
  answers.set(code, text);
  return text;
}

/**
 * Handles `server`'s client errors before any other listener (Fastify's,
 * added later, then finds the socket destroyed and does nothing).
 */
export function answerClientErrors(server: Server): void {
  server.prependListener('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (socket.destroyed) return;
    // A reset connection has no one to answer.
    if (error.code !== 'ECONNRESET' && socket.writable) socket.write(answer(error.code));
    socket.destroy();
  });
}
