// Type test: the stock @trpc/client infers every procedure's input and output from AppRouter,
// and rejects wrong inputs. Checked by `tsc` (npm test); never run.

import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink } from "@trpc/client";
import {
  UPDATE_QUERY_MAP,
  UPDATE_TYPES,
  type AppRouter,
  type Instance,
  type Project,
  type QueryPath,
  type RouterInputs,
  type RouterOutputs,
  type UpdateNotice,
  type UpdateType,
  type Volume,
} from "@tidings/bindings";

type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(): T | void {}
/** Compiles only when the type of `value` is exactly `Expected`: `typeOf(one).is<Project>()`. */
function typeOf<Actual>(_value: Actual) {
  return { is<Expected>(..._exact: Equal<Actual, Expected> extends true ? [] : [never]) {} };
}

const client = createTRPCClient<AppRouter>({
  links: [
    splitLink({
      condition: (op) => op.type === "subscription",
      true: httpSubscriptionLink({ url: "/trpc" }),
      false: httpBatchLink({ url: "/trpc" }),
    }),
  ],
});

export async function queries() {
  // An optional input (`Option<ProjectFilter>`) may be left out, given, or null.
  const all = await client.compute.instances.getAll.query();
  typeOf(all).is<Instance[]>();
  await client.compute.instances.getAll.query({ projectId: "p" });
  await client.compute.instances.getAll.query(null);
  // @ts-expect-error projectId is a string
  await client.compute.instances.getAll.query({ projectId: 1 });

  // No input (`()`).
  const projects = await client.projects.getAll.query();
  typeOf(projects).is<Project[]>();

  // A required input.
  const one = await client.projects.getById.query({ id: "p" });
  typeOf(one).is<Project>();
  // @ts-expect-error the id is required
  await client.projects.getById.query();
  // @ts-expect-error no such procedure
  await client.projects.getEverything.query();
}

export async function mutations() {
  const volume = await client.volumes.create.mutate({ projectId: "p", name: "data", sizeGb: 1 });
  typeOf(volume).is<Volume>();
  // @ts-expect-error sizeGb is a number
  await client.volumes.create.mutate({ projectId: "p", name: "data", sizeGb: "big" });
  // @ts-expect-error a query is not a mutation
  await client.projects.getAll.mutate();
  const nothing = await client.compute.instances.start.mutate({ id: "i" });
  typeOf(nothing).is<null>();
}

export function subscription() {
  // Tracked events: the client yields `{ id, data }`.
  const sub = client.updates.subscribe.subscribe(
    { types: ["volumes", "images"], lastEventId: "4" },
    {
      onData(event) {
        assertType<Equal<typeof event.id, string>>();
        assertType<Equal<typeof event.data, UpdateNotice>>();
        const type: UpdateNotice["type"] = event.data.type;
        void type;
      },
    },
  );
  sub.unsubscribe();
  client.updates.subscribe.subscribe(undefined, { onData() {} }).unsubscribe();
  // @ts-expect-error not an update type
  client.updates.subscribe.subscribe({ types: ["bogus"] }, { onData() {} });
}

export function inference_helpers() {
  assertType<Equal<RouterInputs["volumes"]["getById"], { id: string }>>();
  assertType<Equal<RouterOutputs["compute"]["instances"]["getById"], Instance>>();
}

export function update_query_map() {
  UPDATE_QUERY_MAP satisfies Record<UpdateType, readonly QueryPath[]>;
  UPDATE_TYPES satisfies readonly UpdateType[];
  const volumes: readonly QueryPath[] = UPDATE_QUERY_MAP.volumes;
  void volumes;
  // @ts-expect-error the map is read-only
  UPDATE_QUERY_MAP.volumes = [];
}
