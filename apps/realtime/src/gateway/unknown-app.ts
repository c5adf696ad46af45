import {
  CLOSE_CODES,
  CONNECTION_ACTION,
  decodeFrame,
  encodeMessage,
  TOPIC,
} from '@hubstream/protocol';
import type { WebSocket } from 'ws';
import { isTextClientFrame, TEXT_CHALLENGE, TEXT_REJECT } from './text-codec.ts';

// A client pointed at an app id that does not exist (a typo, a deleted app).
// Refusing the upgrade with 404 makes the official client reconnect again
// and again; CONNECTION REJECT in answer to its CHALLENGE moves it to
// CHALLENGE_DENIED, where it stops for good. So the upgrade is accepted, the
// CHALLENGE rejected with the reason as its data, and the socket closed with
// APP_NOT_FOUND. Plain HTTP requests keep their 404. The 2.x client gets the
// same in text (C|REJ), which stops it as well.

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
  // As on every socket: the 2.x client waits for the server's challenge (text-codec.ts).
  socket.send(TEXT_CHALLENGE, { binary: false });
  socket.on('error', () => clearTimeout(deadline));
  socket.on('message', (data, isBinary) => {
    const frame = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    if (!isBinary) {
      // The 2.x client's challenge response: C|REJ stops it for good (it has no place for the reason).
      if (isTextClientFrame(frame)) socket.send(TEXT_REJECT, { binary: false });
      return close();
    }
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
