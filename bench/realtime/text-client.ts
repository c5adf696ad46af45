import { closeSocket, openPool } from './client.ts';
import { WebSocket } from './deps.ts';

// The load generator's 2.x connection: a plain WebSocket speaking the text
// protocol of deepstream.io-client-js 2.3.4 (PROTOCOL.md 10.3) on the same
// URL as the protobuf clients: the server greets with C|CH, the client
// answers C|CHR|url, gets C|A, logs in with A|REQ|{json} and gets A|A.
// Frames are built and read by hand, as the 2.x client writes them: a
// message is TOPIC US ACTION [US field …] RS, several to a frame.

export const US = '\x1f';
export const RS = '\x1e';
export const US_BYTE = 0x1f;
export const RS_BYTE = 0x1e;

const HANDSHAKE_TIMEOUT_MS = 30_000;
/** The server's heartbeat (C|PI) and the 2.x client's answer (C|PO). */
const PING = `C${US}PI`;
const PONG = `C${US}PO${RS}`;
const C_BYTE = 'C'.charCodeAt(0);

/** The 2.x client's emit of JSON data (typed value O), up to the data: E|EVT|name|O. */
export const textEmitPrefix = (name: string): string => `E${US}EVT${US}${name}${US}O`;

export type TextFrameHandler = (frame: Buffer) => void;

/** Each message of a text frame in turn, as [start, end) without its RS. */
export function forEachMessage(
  frame: Buffer,
  each: (frame: Buffer, start: number, end: number) => void,
): void {
  let start = 0;
  while (start < frame.length) {
    let end = frame.indexOf(RS_BYTE, start);
    if (end === -1) end = frame.length;
    if (end > start) each(frame, start, end);
    start = end + 1;
  }
}

/** Whether the message at [start, end) is exactly `text` (ASCII). */
function messageIs(frame: Buffer, start: number, end: number, text: string): boolean {
  if (end - start !== text.length) return false;
  for (let i = 0; i < text.length; i++) if (frame[start + i] !== text.charCodeAt(i)) return false;
  return true;
}

/** Whether the message at [start, end) begins with `prefix` (ASCII). */
export function messageStarts(frame: Buffer, start: number, end: number, prefix: string): boolean {
  if (end - start < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++)
    if (frame[start + i] !== prefix.charCodeAt(i)) return false;
  return true;
}

const openClients = new Set<TextBenchClient>();
let unexpectedCloses = 0;

export class TextBenchClient {
  readonly socket: WebSocket;
  readonly username: string;
  onFrame: TextFrameHandler = () => {};
  #closing = false;

  private constructor(socket: WebSocket, username: string) {
    this.socket = socket;
    this.username = username;
    socket.on('message', (data: Buffer) => {
      // Heartbeats are answered here, whatever the phase installed: the
      // server closes a 2.x connection silent for two of them. (Only a
      // frame that starts with the connection topic is looked through: the
      // server sends C|PI alone, and events start with E.)
      if (data[0] === C_BYTE && data.indexOf(PING) !== -1) {
        forEachMessage(data, (frame, start, end) => {
          if (messageIs(frame, start, end, PING)) this.socket.send(PONG);
        });
      }
      this.onFrame(data);
    });
  }

  /** A text connection that has answered the challenge and logged in with open auth. */
  static open(url: string, username: string): Promise<TextBenchClient> {
    return new Promise((resolve, reject) => {
      // The generator does not check the server's text frames for valid
      // UTF-8 (ws does by default): it does not check the protobuf lane's
      // binary frames either, and its own CPU is taken from the server's.
      const socket = new WebSocket(url, { perMessageDeflate: false, skipUTF8Validation: true });
      const client = new TextBenchClient(socket, username);
      const fail = (error: Error) => {
        clearTimeout(timer);
        socket.terminate();
        reject(error);
      };
      const timer = setTimeout(
        () => fail(new Error(`text handshake of ${username} timed out`)),
        HANDSHAKE_TIMEOUT_MS,
      );
      socket.once('error', fail);
      socket.once('close', () => fail(new Error(`${username} closed during the text handshake`)));
      client.onFrame = (data) => {
        forEachMessage(data, (frame, start, end) => {
          if (messageIs(frame, start, end, `C${US}CH`)) {
            client.send(`C${US}CHR${US}${url}${RS}`);
          } else if (messageIs(frame, start, end, `C${US}A`)) {
            client.send(`A${US}REQ${US}${JSON.stringify({ username })}${RS}`);
          } else if (messageStarts(frame, start, end, `A${US}A`)) {
            clearTimeout(timer);
            socket.removeAllListeners('error');
            socket.removeAllListeners('close');
            socket.on('error', () => {});
            socket.on('close', () => {
              openClients.delete(client);
              if (!client.#closing) unexpectedCloses++;
            });
            client.onFrame = () => {};
            openClients.add(client);
            resolve(client);
          } else if (
            messageStarts(frame, start, end, `A${US}E`) ||
            messageStarts(frame, start, end, `C${US}E`) ||
            messageStarts(frame, start, end, `C${US}REJ`)
          ) {
            const text = frame.toString('utf8', start, end).replaceAll(US, '|');
            fail(new Error(`${username}: text handshake refused (${text})`));
          }
        });
      };
    });
  }

  /** One text frame (a string goes out as a text frame, as the 2.x client sends). */
  send(frame: string): void {
    this.socket.send(frame);
  }

  /** Sends one frame and resolves once a message of a reply frame is exactly `reply`. For set-up only. */
  request(frame: string, reply: string, timeoutMs = 30_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no ${reply.replaceAll(US, '|')} for ${this.username}`)),
        timeoutMs,
      );
      this.onFrame = (data) => {
        let matched = false;
        forEachMessage(data, (f, start, end) => {
          matched ||= messageIs(f, start, end, reply);
        });
        if (!matched) return;
        clearTimeout(timer);
        this.onFrame = () => {};
        resolve();
      };
      this.send(frame);
    });
  }

  close(): Promise<void> {
    this.#closing = true;
    return closeSocket(this.socket);
  }
}

/** Opens `count` logged-in text connections, `concurrency` handshakes at a time (openPool). */
export function openManyText(
  url: string | ((index: number) => string),
  count: number,
  prefix: string,
  concurrency = 50,
): Promise<TextBenchClient[]> {
  return openPool((target, user) => TextBenchClient.open(target, user), url, count, prefix, {
    concurrency,
  });
}

export async function closeAllText(clients: Iterable<TextBenchClient>): Promise<void> {
  await Promise.all([...clients].map((c) => c.close()));
}

/** Text connections the server closed while the bench still used them. */
export const unexpectedTextCloseCount = (): number => unexpectedCloses;
