export { type ReadinessCheck, registerHealthRoutes } from './health.ts';
export { createLogger, type Logger, type LogLevel } from './logger.ts';
export { burnPasswordCheck, hashPassword, verifyPassword } from './passwords.ts';
export { stopOnSignals } from './shutdown.ts';
