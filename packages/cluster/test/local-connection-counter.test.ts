import { LocalConnectionCounter } from '../src/index.ts';
import { connectionCounterContract } from './connection-counter-contract.ts';

connectionCounterContract('local', () => new LocalConnectionCounter());
