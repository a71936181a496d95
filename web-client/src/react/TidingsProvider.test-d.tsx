import { QueryClient } from '@tanstack/react-query';
import { describe, expectTypeOf, it } from 'vitest';
import { createTidings, type Tidings } from './createTidings';
import { TidingsProvider } from './TidingsProvider';
import { trpc } from './trpc';

describe('TidingsProvider and createTidings types', () => {
  it('accepts options or a prebuilt client', () => {
    void (<TidingsProvider url="/trpc" transport="sse" autoRefetch />);
    void (<TidingsProvider autoRefetch={{ throttleMs: { progress: 250 } }} crossTab={false} />);
    void (<TidingsProvider tidings={createTidings({ queryClient: new QueryClient() })} />);
    // @ts-expect-error: only sse or ws
    void (<TidingsProvider transport="grpc" />);
    expectTypeOf(createTidings()).toEqualTypeOf<Tidings>();
  });

  it('gives typed query hooks for the seed usage', () => {
    const projects = trpc.projects.getAll.useQuery();
    expectTypeOf(projects.data).toMatchTypeOf<{ id: string; name: string }[] | undefined>();
    const create = trpc.volumes.create.useMutation();
    expectTypeOf(create.mutate).parameter(0).toMatchTypeOf<{
      projectId: string;
      name: string;
      sizeGb: number;
    }>();
  });
});
