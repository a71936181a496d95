import { QueryClient, useQuery } from '@tanstack/react-query';
import { initTRPC } from '@trpc/server';
import { createTRPCContext } from '@trpc/tanstack-react-query';
import { describe, expectTypeOf, it } from 'vitest';
import type { Project } from '@tidings/bindings';
import { createTidings, type Tidings } from './createTidings.js';
import { TRPCProvider, useTRPC } from './testing.js';
import { TidingsProvider } from './TidingsProvider.js';

const other = initTRPC.create();
/** A router other than the server's. */
export const otherRouter = other.router({ ping: other.procedure.query(() => 'pong') });

describe('TidingsProvider and createTidings types', () => {
  it('accepts options or a prebuilt client', () => {
    void (<TidingsProvider url="/trpc" transport="sse" autoRefetch />);
    void (<TidingsProvider autoRefetch={{ throttleMs: { progress: 250 } }} crossTab={false} />);
    void (<TidingsProvider tidings={createTidings({ queryClient: new QueryClient() })} />);
    // @ts-expect-error: only sse or ws
    void (<TidingsProvider transport="grpc" />);
    expectTypeOf(createTidings()).toEqualTypeOf<Tidings>();
  });

  it("takes @trpc/tanstack-react-query's provider of this router only", () => {
    void (<TidingsProvider url="/trpc" TRPCProvider={TRPCProvider} />);
    const elsewhere = createTRPCContext<typeof otherRouter>();
    // @ts-expect-error: the provider of another router
    void (<TidingsProvider url="/trpc" TRPCProvider={elsewhere.TRPCProvider} />);
  });

  it('gives typed query options for the seed usage', () => {
    const trpc = useTRPC();
    const projects = useQuery(trpc.projects.getAll.queryOptions());
    expectTypeOf(projects.data).toEqualTypeOf<Project[] | undefined>();
    expectTypeOf(trpc.volumes.create.mutationOptions).returns.toHaveProperty('mutationFn');
    // @ts-expect-error: projectId is a string
    trpc.volumes.getAll.queryOptions({ projectId: 1 });
  });
});
