/**
 * The typed tRPC React hooks over the server's router: `trpc.projects.getAll.useQuery()`,
 * `trpc.volumes.create.useMutation()`. Keys are `[path.split('.'), { input, type }]`, which the
 * invalidation uses as prefixes.
 */
import { createTRPCReact } from '@trpc/react-query';
import type { AppRouter } from '../bindings';

/** The typed hooks of every procedure. */
export const trpc = createTRPCReact<AppRouter>();
