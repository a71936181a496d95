// tRPC's classic React integration over the server's router, as its documentation sets it up.
import { createTRPCReact } from '@trpc/react-query';
import type { AppRouter } from '@tidings/web-client';

export const trpc = createTRPCReact<AppRouter>();
