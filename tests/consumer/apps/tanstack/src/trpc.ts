// tRPC's recommended React integration over the server's router, as its documentation sets it up.
import { createTRPCContext } from '@trpc/tanstack-react-query';
import type { AppRouter } from '@tidings/web-client';

export const { TRPCProvider, useTRPC } = createTRPCContext<AppRouter>();
