// The recommended tRPC React integration (@trpc/tanstack-react-query) over the server's router:
// `const trpc = useTRPC()`, then `useQuery(trpc.volumes.getAll.queryOptions({ projectId }))`.
import type { AppRouter } from '@tidings/bindings';
import { createTRPCContext } from '@trpc/tanstack-react-query';

export const { TRPCProvider, useTRPC } = createTRPCContext<AppRouter>();
