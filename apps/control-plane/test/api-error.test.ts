import { describe, expect, it } from 'vitest';
import { ApiError, toApiError } from '../src/errors.ts';

// A client's error is answered by its code: no stack is captured for it.

const frames = (error: Error) => (error.stack ?? '').split('\n').filter((l) => l.includes(' at '));

describe('ApiError', () => {
  it('captures no stack for a client error, and leaves the stack limit as it was', () => {
    const before = Error.stackTraceLimit;
    const error = new ApiError('VALIDATION_FAILED', 'The request body is invalid.');
    expect(frames(error)).toEqual([]);
    expect(error.status).toBe(400);
    expect(error.message).toBe('The request body is invalid.');
    expect(error).toBeInstanceOf(Error);
    expect(Error.stackTraceLimit).toBe(before);
    // Errors made afterwards still have their stacks.
    expect(frames(new Error('other')).length).toBeGreaterThan(0);
  });

  it('keeps the stack of an INTERNAL error, for the log', () => {
    const error = new ApiError('INTERNAL', 'Something went wrong.');
    expect(frames(error).length).toBeGreaterThan(0);
    expect(toApiError(error)).toBe(error);
  });
});
