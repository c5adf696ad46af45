import type { TOPIC } from './actions.ts';

/**
 * One deepstream message, as the codec decodes it: only the fields present
 * on the wire are own properties (PROTOCOL.md §1.6). `data` and
 * `requestorData` are JSON text.
 */
export interface Message {
  topic: TOPIC;
  action: number;
  name?: string;
  names?: string[];
  data?: string;
  correlationId?: string;
  isAck?: boolean;
  isError?: boolean;
  isWriteAck?: boolean;
  version?: number;
  versions?: Record<string, number>;
  path?: string;
  subscription?: string;
  originalAction?: number;
  requestorName?: string;
  requestorData?: string;
  url?: string;
  protocolVersion?: string;
  sdkVersion?: string;
  sdkType?: string;
}
