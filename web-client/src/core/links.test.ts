import { describe, expect, it } from 'vitest';
import { STREAM_TICKET_PATH, streamTicketParams } from './links.js';

describe('streamTicketParams', () => {
  it('asks auth.streamTicket with the session headers, once per connection', async () => {
    const requests: { url: string; method: string; authorization: string | null }[] = [];
    let issued = 0;
    const fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const headers = new Headers(init?.headers);
      requests.push({
        url: String(input),
        method: init?.method ?? 'GET',
        authorization: headers.get('authorization'),
      });
      issued += 1;
      const body = { result: { data: { ticket: `ticket-${issued}`, expiresInSeconds: 30 } } };
      return new Response(JSON.stringify(body), {
        headers: { 'content-type': 'application/json' },
      });
    }) as typeof globalThis.fetch;
    const params = streamTicketParams(
      'http://bff.example/trpc',
      () => ({ Authorization: 'Bearer s3cret' }),
      fetch,
    );

    expect(await params()).toEqual({ ticket: 'ticket-1' });
    expect(await params()).toEqual({ ticket: 'ticket-2' });
    expect(requests).toEqual([
      {
        url: `http://bff.example/trpc/${STREAM_TICKET_PATH}`,
        method: 'POST',
        authorization: 'Bearer s3cret',
      },
      {
        url: `http://bff.example/trpc/${STREAM_TICKET_PATH}`,
        method: 'POST',
        authorization: 'Bearer s3cret',
      },
    ]);
  });
});
