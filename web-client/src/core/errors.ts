/**
 * Reading tRPC errors: the code the server put in an error's `data` (`UNAUTHORIZED`,
 * `FORBIDDEN`, …), whatever carried it (a `TRPCClientError` from a link, the raw envelope, or a
 * description relayed from another tab), and the retry policy that follows from it: a refusal
 * (a 4xx answer) is final, so asking again only repeats it.
 */

/** The tRPC error code (`data.code`) of `error`, or `null` when it carries none. */
export function trpcErrorCode(error: unknown): string | null {
  if (!error || typeof error !== 'object') return null;
  const { data, shape } = error as { data?: unknown; shape?: unknown };
  for (const candidate of [data, (shape as { data?: unknown } | undefined)?.data]) {
    const code = (candidate as { code?: unknown } | null | undefined)?.code;
    if (typeof code === 'string') return code;
  }
  return null;
}

/** The HTTP status the server gave `error` (`data.httpStatus`), or `null`. */
export function trpcHttpStatus(error: unknown): number | null {
  if (!error || typeof error !== 'object') return null;
  const { data, shape } = error as { data?: unknown; shape?: unknown };
  for (const candidate of [data, (shape as { data?: unknown } | undefined)?.data]) {
    const status = (candidate as { httpStatus?: unknown } | null | undefined)?.httpStatus;
    if (typeof status === 'number') return status;
  }
  return null;
}

/** Whether the server refused `error`'s call for want of a (valid) session. */
export function isUnauthorized(error: unknown): boolean {
  return trpcErrorCode(error) === 'UNAUTHORIZED';
}

/** Whether the server refused `error`'s call because the session may not do it. */
export function isForbidden(error: unknown): boolean {
  return trpcErrorCode(error) === 'FORBIDDEN';
}

/**
 * Whether `error` is the server's final answer to this call (a 4xx other than a timeout or
 * "too many requests"): retrying repeats it.
 */
export function isRefusal(error: unknown): boolean {
  const status = trpcHttpStatus(error);
  if (status !== null) return status >= 400 && status < 500 && status !== 408 && status !== 429;
  const code = trpcErrorCode(error);
  return code !== null && REFUSALS.has(code);
}

const REFUSALS = new Set([
  'PARSE_ERROR',
  'BAD_REQUEST',
  'UNAUTHORIZED',
  'PAYMENT_REQUIRED',
  'FORBIDDEN',
  'NOT_FOUND',
  'METHOD_NOT_SUPPORTED',
  'CONFLICT',
  'PRECONDITION_FAILED',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'UNPROCESSABLE_CONTENT',
  'PRECONDITION_REQUIRED',
  'CLIENT_CLOSED_REQUEST',
]);

/**
 * A query retry policy (TanStack Query's `retry`): up to `times` retries of failures that may
 * pass on a second try (network, 5xx), none of refusals such as `UNAUTHORIZED`/`FORBIDDEN`.
 */
export function retryUnlessRefused(times = 3): (failureCount: number, error: unknown) => boolean {
  return (failureCount, error) => !isRefusal(error) && failureCount < times;
}
