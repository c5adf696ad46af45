import { Counter, Histogram, type Registry } from '@hubstream/service';
import type { Command } from './commands.ts';
import type { CommandResult } from './results.ts';

// The HTTP data API's Prometheus metrics (METRICS.md): requests by result,
// commands by kind and result, and how long each command took. Every label
// is a closed set: the request's verdict or refusal, the command's JSON
// topic and action, and `success` or the command's errorEvent (protocol
// action names and the API's own few). Never an app, a user or a name.

/** What a request came to: deepstream's verdict when it ran, else why it was refused. */
export type RequestOutcome =
  | 'success'
  | 'partial_success'
  | 'failure'
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'unsupported_media_type'
  | 'too_many_requests'
  | 'server_error';

const REFUSALS: Record<number, RequestOutcome> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  415: 'unsupported_media_type',
  429: 'too_many_requests',
};

/** The outcome of a request refused with `status` (never 200). */
export function refusalOf(status: number): RequestOutcome {
  return REFUSALS[status] ?? (status >= 500 ? 'server_error' : 'bad_request');
}

/** A command's kind as the request named it: `record.write`, `list.read`, `rpc.make`. */
export const kindOf = (command: Command): string => `${command.topic}.${command.action}`;

/** `success`, or the errorEvent the command failed with. */
export function resultLabel(result: CommandResult): string {
  if (result.success) return 'success';
  return typeof result.errorEvent === 'string' ? result.errorEvent : 'unknown';
}

export class HttpApiMetrics {
  readonly #requests = new Counter({
    name: 'hubstream_http_api_requests_total',
    help: 'HTTP data API requests (POST /APP_ID/api) answered, by result: success, partial_success, failure (every command failed), or why the request was refused before any command ran.',
    labelNames: ['result'] as const,
    registers: [],
  });
  readonly #commands = new Counter({
    name: 'hubstream_http_api_commands_total',
    help: 'HTTP data API commands, by kind (record.write, rpc.make, ...) and result (success or the errorEvent they failed with).',
    labelNames: ['kind', 'result'] as const,
    registers: [],
  });
  readonly #duration = new Histogram({
    name: 'hubstream_http_api_command_duration_seconds',
    help: 'Time from the start of an HTTP data API command to its result, by kind.',
    labelNames: ['kind'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [],
  });

  /** Adds the metrics to a node's registry (its /metrics). */
  register(registry: Registry): void {
    registry.registerMetric(this.#requests);
    registry.registerMetric(this.#commands);
    registry.registerMetric(this.#duration);
  }

  request(outcome: RequestOutcome): void {
    this.#requests.inc({ result: outcome });
  }

  command(command: Command, result: CommandResult, seconds: number): void {
    const kind = kindOf(command);
    this.#commands.inc({ kind, result: resultLabel(result) });
    this.#duration.observe({ kind }, seconds);
  }
}
