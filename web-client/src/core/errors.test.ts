import { TRPCClientError } from '@trpc/client';
import { describe, expect, it } from 'vitest';
import {
  isForbidden,
  isRefusal,
  isUnauthorized,
  retryUnlessRefused,
  trpcErrorCode,
  trpcHttpStatus,
} from './errors.js';

/** A client error exactly as a link builds it from the server's envelope. */
const fromServer = (code: string, httpStatus: number, numeric: number) =>
  TRPCClientError.from({
    error: {
      message: `${code} from the server`,
      code: numeric,
      data: { code, httpStatus, path: 'volumes.create' },
    },
  });

describe('trpc errors', () => {
  const unauthorized = fromServer('UNAUTHORIZED', 401, -32001);
  const forbidden = fromServer('FORBIDDEN', 403, -32003);
  const unavailable = fromServer('SERVICE_UNAVAILABLE', 503, -32603);

  it('reads the code and HTTP status of a TRPCClientError', () => {
    expect(trpcErrorCode(unauthorized)).toBe('UNAUTHORIZED');
    expect(trpcHttpStatus(forbidden)).toBe(403);
    expect(isUnauthorized(unauthorized)).toBe(true);
    expect(isUnauthorized(forbidden)).toBe(false);
    expect(isForbidden(forbidden)).toBe(true);
  });

  it('reads the raw envelope and carries nothing for other values', () => {
    expect(trpcErrorCode({ shape: { data: { code: 'FORBIDDEN' } } })).toBe('FORBIDDEN');
    expect(trpcErrorCode(new Error('socket hang up'))).toBeNull();
    expect(trpcErrorCode('UNAUTHORIZED')).toBeNull();
    expect(trpcErrorCode(null)).toBeNull();
    expect(trpcHttpStatus(undefined)).toBeNull();
  });

  it('counts 4xx answers as refusals, but not timeouts, rate limits, 5xx or network errors', () => {
    expect(isRefusal(unauthorized)).toBe(true);
    expect(isRefusal(forbidden)).toBe(true);
    expect(isRefusal(fromServer('BAD_REQUEST', 400, -32600))).toBe(true);
    expect(isRefusal(fromServer('TOO_MANY_REQUESTS', 429, -32029))).toBe(false);
    expect(isRefusal(fromServer('TIMEOUT', 408, -32008))).toBe(false);
    expect(isRefusal(unavailable)).toBe(false);
    expect(isRefusal(new TypeError('Failed to fetch'))).toBe(false);
    expect(isRefusal({ data: { code: 'NOT_FOUND' } })).toBe(true);
  });

  it('retries what may pass later, up to the limit, and never a refusal', () => {
    const retry = retryUnlessRefused(2);
    expect(retry(0, unauthorized)).toBe(false);
    expect(retry(0, forbidden)).toBe(false);
    expect(retry(0, unavailable)).toBe(true);
    expect(retry(1, new TypeError('Failed to fetch'))).toBe(true);
    expect(retry(2, unavailable)).toBe(false);
  });
});
