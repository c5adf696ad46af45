export { buildApp, type RealtimeOptions } from './app.ts';
