/**
 * The server's contract as this package sees it: a stand-in, written by hand, for the generated
 * `@tidings/bindings` package until that lands. It declares only what the client and the console
 * use; replace its body with re-exports from `@tidings/bindings` when the package is available.
 */
import type {
  TRPCBuiltRouter,
  TRPCDefaultErrorShape,
  TRPCMutationProcedure,
  TRPCQueryProcedure,
  TRPCSubscriptionProcedure,
  inferRouterInputs,
  inferRouterOutputs,
} from '@trpc/server';

/** What kind of resource changed: the `type` of an update notice. */
export type UpdateType = 'projects' | 'compute' | 'volumes' | 'images' | 'networks' | 'progress';

/** Why the client must refetch everything. */
export type ResyncReason = 'lagged' | 'gap';

/** One notice as clients receive it. */
export type UpdateNotice = {
  type: UpdateType | 'resync';
  scope?: string | null;
  reason?: ResyncReason | null;
};

/** The input of `updates.subscribe`. */
export type SubscribeRequest = { lastEventId?: string | null; types?: UpdateType[] | null };

/** For each update type, the query paths a notice of that type invalidates. */
export const UPDATE_QUERY_MAP: Readonly<Record<UpdateType, readonly string[]>> = Object.freeze({
  projects: ['projects.getAll', 'projects.getById'],
  compute: ['compute.flavors.getAll', 'compute.instances.getAll', 'compute.instances.getById'],
  volumes: ['compute.instances.getAttachments', 'volumes.getAll', 'volumes.getById'],
  images: ['images.getAll', 'images.getById'],
  networks: ['networks.getAll', 'networks.getById'],
  progress: ['progress.getActive'],
});

type Root = {
  ctx: object;
  meta: object;
  errorShape: TRPCDefaultErrorShape;
  transformer: false;
};
type Query<I, O> = TRPCQueryProcedure<{ input: I; output: O; meta: object }>;
type Mutation<I, O> = TRPCMutationProcedure<{ input: I; output: O; meta: object }>;
type Subscription<I, E> = TRPCSubscriptionProcedure<{
  input: I;
  output: AsyncIterable<{ id: string; data: E }, void, any>;
  meta: object;
}>;
type ProjectFilter = { projectId?: string | null } | null | undefined;
type ById = { id: string };

export type Project = { id: string; name: string; description: string | null; enabled: boolean };
export type Flavor = { id: string; name: string; vcpus: number; ramMb: number; diskGb: number };
export type Instance = {
  id: string;
  name: string;
  status: string;
  progress: number | null;
  projectId: string;
  flavor: { id: string | null; name: string | null };
  imageId: string | null;
  addresses: { network: string; addr: string; version: number; type: string | null }[];
  created: string;
  powerState: string | null;
  taskState: string | null;
  attachedVolumeIds: string[];
};
export type Volume = {
  id: string;
  name: string | null;
  status: string;
  sizeGb: number;
  projectId: string | null;
  attachments: { serverId: string; device: string | null }[];
  createdAt: string;
};
export type Image = {
  id: string;
  name: string | null;
  status: string;
  visibility: string;
  owner: string | null;
  sizeBytes: number | null;
};
export type Network = {
  id: string;
  name: string;
  status: string;
  projectId: string | null;
  shared: boolean;
  external: boolean;
  subnetIds: string[];
};
export type Operation = {
  kind: string;
  resourceId: string;
  resourceName: string | null;
  projectId: string | null;
  status: string;
  progress: number;
};

/** The server's router (the subset used here). */
export type AppRouter = TRPCBuiltRouter<
  Root,
  {
    projects: { getAll: Query<void, Project[]> };
    compute: {
      instances: {
        getAll: Query<ProjectFilter, Instance[]>;
        create: Mutation<
          { projectId: string; name: string; flavorId: string; imageId: string },
          Instance
        >;
        delete: Mutation<ById, null>;
      };
      flavors: { getAll: Query<void, Flavor[]> };
    };
    volumes: {
      getAll: Query<ProjectFilter, Volume[]>;
      create: Mutation<{ projectId: string; name: string; sizeGb: number }, Volume>;
      delete: Mutation<ById, null>;
      attach: Mutation<{ volumeId: string; instanceId: string }, null>;
    };
    images: { getAll: Query<ProjectFilter, Image[]> };
    networks: { getAll: Query<ProjectFilter, Network[]> };
    progress: { getActive: Query<ProjectFilter, Operation[]> };
    updates: { subscribe: Subscription<SubscribeRequest | null | undefined, UpdateNotice> };
  }
>;

/** Every procedure's input, by path. */
export type RouterInputs = inferRouterInputs<AppRouter>;
/** Every procedure's output, by path. */
export type RouterOutputs = inferRouterOutputs<AppRouter>;
