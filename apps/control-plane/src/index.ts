export { buildApp, type ControlPlaneOptions } from './app.ts';
