import { createRequire } from 'node:module';
import type WsModule from 'ws';

// The bench is not a workspace package, so it cannot name `ws` in a
// package.json of its own. The load generator and the baseline server use
// the very copy apps/realtime runs on, resolved from apps/realtime. Types
// come through the `paths` entry of this folder's tsconfig.json.

const fromRealtime = createRequire(new URL('../../apps/realtime/package.json', import.meta.url));
const ws = fromRealtime('ws') as typeof WsModule;

export const WebSocket = ws.WebSocket;
export type WebSocket = WsModule.WebSocket;
export const WebSocketServer = ws.WebSocketServer;
export type WebSocketServer = WsModule.WebSocketServer;
