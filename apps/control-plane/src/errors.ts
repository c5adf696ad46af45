// Every error the HTTP API can answer with, and its status. The table is
// closed: a code without a status does not compile.
export const API_ERROR_STATUS = {
  VALIDATION_FAILED: 400,
  INVALID_JSON: 400,
  INVALID_TOKEN: 400,
  UNAUTHENTICATED: 401,
  INVALID_CREDENTIALS: 401,
  FORBIDDEN: 403,
  DENIED_BY_PERMISSIONS: 403,
  WRONG_PASSWORD: 403,
  NOT_FOUND: 404,
  EMAIL_TAKEN: 409,
  EMAIL_ALREADY_VERIFIED: 409,
  USER_EXISTS: 409,
  VERSION_CONFLICT: 409,
  ALREADY_MEMBER: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  INVALID_PERMISSIONS: 422,
  INVALID_SETTINGS: 422,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  REALTIME_UNAVAILABLE: 503,
} as const satisfies Record<string, number>;

export type ApiErrorCode = keyof typeof API_ERROR_STATUS;

export type ApiErrorBody = {
  error: { code: ApiErrorCode; message: string; details: unknown[] };
};

export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly code: ApiErrorCode;
  readonly details: unknown[];

  constructor(code: ApiErrorCode, message: string, details: unknown[] = []) {
    // A client's error (4xx) is answered and at most logged by its code: no
    // stack is captured for it, which was 5% of the control plane's CPU under
    // a flood of malformed requests (bench:attacks, 2026-12-07). An INTERNAL
    // one keeps its stack for the log.
    const limit = Error.stackTraceLimit;
    if (code !== 'INTERNAL') Error.stackTraceLimit = 0;
    try {
      super(message);
    } finally {
      Error.stackTraceLimit = limit;
    }
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return API_ERROR_STATUS[this.code];
  }

  toBody(): ApiErrorBody {
    return { error: { code: this.code, message: this.message, details: this.details } };
  }
}

export const notFound = (what: string) => new ApiError('NOT_FOUND', `${what} was not found.`);

type FastifyLikeError = Error & {
  statusCode?: number;
  code?: string;
  validation?: { instancePath: string; message?: string; params?: unknown }[];
  validationContext?: string;
};

/**
 * The one place where any thrown value becomes an API error. Causes and
 * stacks stay in the logs; clients get a code and a message.
 */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  const e = error as FastifyLikeError;
  if (e?.validation) {
    const where = e.validationContext ?? 'body';
    return new ApiError(
      'VALIDATION_FAILED',
      `The request ${where} is invalid: ${e.validation
        .map((v) => `${v.instancePath || '/'} ${v.message ?? 'is invalid'}`)
        .join('; ')}.`,
      e.validation.map((v) => ({
        in: where,
        path: v.instancePath || '/',
        message: v.message ?? '',
      })),
    );
  }
  switch (e?.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiError('INVALID_JSON', 'The request body is not valid JSON.');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError('PAYLOAD_TOO_LARGE', 'The request body is too large.');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ApiError(
        'UNSUPPORTED_MEDIA_TYPE',
        'The request content type is not supported here.',
      );
    default:
      break;
  }
  if (e?.statusCode === 429) return new ApiError('RATE_LIMITED', e.message);
  // Any other refusal of the request by the framework (a malformed URL, a
  // bad header) is the client's doing: a 400 that says what, never a 500.
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new ApiError('VALIDATION_FAILED', `The request is malformed: ${e.message}`);
  }
  return new ApiError('INTERNAL', 'Something went wrong on our side. It has been logged.');
}
