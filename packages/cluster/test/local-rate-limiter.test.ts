import { LocalRateLimiter } from '../src/index.ts';
import { rateLimiterContract } from './rate-limiter-contract.ts';

rateLimiterContract('local', async () => new LocalRateLimiter());
