import {
  CLOSE_CODES,
  CONNECTION_ACTION,
  decodeFrame,
  encodeMessage,
  TOPIC,
} from '@hubstream/protocol';
import type { WebSocket } from 'ws';

// A client pointed at an app id that does not exist (a typo, a deleted app).
// Refusing the upgrade with 404 makes the official client reconnect again
// and again; CONNECTION REJECT in answer to its CHALLENGE moves it to
// CHALLENGE_DENIED, where it stops for good. So the upgrade is accepted, the
// CHALLENGE rejected with the reason as its data, and the socket closed with
// APP_NOT_FOUND. Plain HTTP requests keep their 404.

/** How long such a socket may stay open without sending its CHALLENGE. */
export const UNKNOWN_APP_DEADLINE_MS = 5_000;

/** The reason carried by the REJECT (JSON in its `data`) and the close. */
export function unknownAppReason(appId: string | undefined) {
  return {
    code: 'APP_NOT_FOUND',
    message: `No app with id "${appId ?? ''}": check the app id at the end of the URL (the dashboard shows each app's URL); a deleted app's id stays unknown.`,
  };
}

/** Answers the socket's CHALLENGE with REJECT and closes it with APP_NOT_FOUND. */
export function refuseUnknownApp(socket: WebSocket, appId: string | undefined): void {
  const reason = unknownAppReason(appId);
  const close = () => socket.close(CLOSE_CODES.APP_NOT_FOUND, 'app not found');
  const deadline = setTimeout(close, UNKNOWN_APP_DEADLINE_MS);
  deadline.unref();
  socket.on('close', () => clearTimeout(deadline));
  socket.on('error', () => clearTimeout(deadline));
  socket.on('message', (data, isBinary) => {
    if (!isBinary) return close();
    const frame = Array.isArray(data) ? Buffer.concat(data) : new Uint8Array(data as ArrayBuffer);
    const decoded = decodeFrame(frame);
    const message = decoded.ok ? decoded.message : null;
    // Heartbeats may come first; anything else ends it too.
    if (message?.topic === TOPIC.CONNECTION && message.action === CONNECTION_ACTION.PING) return;
    if (message?.topic === TOPIC.CONNECTION && message.action === CONNECTION_ACTION.CHALLENGE) {
      socket.send(
        encodeMessage({
          topic: TOPIC.CONNECTION,
          action: CONNECTION_ACTION.REJECT,
          data: JSON.stringify(reason),
        }),
      );
    }
    close();
  });
}
