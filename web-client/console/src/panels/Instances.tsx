// Instances of the project, with build progress bars, a create form and delete buttons.
import { useMutation, useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { useAutoRefetch, type RouterOutputs } from '@tidings/web-client';
import { useTRPC } from '../trpc';
import { Empty, ErrorText, Panel, ProgressBar, StatusPill } from '../ui';

type Instance = RouterOutputs['compute']['instances']['getAll'][number];
type Operation = RouterOutputs['progress']['getActive'][number];

export function Instances({ projectId }: { projectId: string }) {
  const trpc = useTRPC();
  const instances = useQuery(trpc.compute.instances.getAll.queryOptions({ projectId }));
  const progress = useQuery(trpc.progress.getActive.queryOptions({ projectId }));
  const flavors = useQuery(trpc.compute.flavors.getAll.queryOptions());
  const images = useQuery(trpc.images.getAll.queryOptions());
  useAutoRefetch(['compute', 'progress', 'images'], { throttleMs: { progress: 250 } });

  const operations = new Map<string, Operation>();
  for (const op of progress.data ?? []) operations.set(op.resourceId, op);
  const flavorName = (id: string | null | undefined) =>
    flavors.data?.find((f) => f.id === id)?.name ?? id ?? '—';
  const imageName = (id: string | null | undefined) =>
    images.data?.find((i) => i.id === id)?.name ?? (id ? id.slice(0, 8) : '—');
  const list = [...(instances.data ?? [])].sort((a, b) => a.name.localeCompare(b.name));

  return (
    <Panel
      title="Instances"
      count={instances.data?.length}
      loading={instances.isPending}
      error={instances.error}
      testId="instances"
      actions={<CreateInstance projectId={projectId} />}
    >
      {list.length === 0 && !instances.isPending ? (
        <Empty>No instances in this project.</Empty>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Name</th>
              <th>Status</th>
              <th>Flavor</th>
              <th>Image</th>
              <th>Address</th>
              <th aria-label="Actions" />
            </tr>
          </thead>
          <tbody>
            {list.map((instance) => (
              <InstanceRow
                key={instance.id}
                instance={instance}
                operation={operations.get(instance.id)}
                flavor={flavorName(instance.flavor.id)}
                image={imageName(instance.imageId)}
              />
            ))}
          </tbody>
        </table>
      )}
    </Panel>
  );
}

function InstanceRow(props: {
  instance: Instance;
  operation: Operation | undefined;
  flavor: string;
  image: string;
}) {
  const trpc = useTRPC();
  const { instance, operation } = props;
  const remove = useMutation(trpc.compute.instances.delete.mutationOptions());
  const building = operation !== undefined || instance.status === 'BUILD';
  const percent = operation?.progress ?? instance.progress ?? 0;
  return (
    <tr data-testid={`instance-${instance.name}`}>
      <td className="name">{instance.name}</td>
      <td>
        {building ? (
          <div className="building">
            <StatusPill status={operation?.status ?? instance.status} />
            <ProgressBar value={percent} label={`Building ${instance.name}`} />
          </div>
        ) : (
          <StatusPill status={instance.status} />
        )}
      </td>
      <td>{props.flavor}</td>
      <td>{props.image}</td>
      <td className="mono">{instance.addresses[0]?.addr ?? '—'}</td>
      <td className="actions">
        <ErrorText error={remove.error} inline />
        <button
          className="danger"
          disabled={remove.isPending || remove.isSuccess}
          onClick={() => remove.mutate({ id: instance.id })}
        >
          {remove.isPending ? 'Deleting…' : remove.isSuccess ? 'Deleted' : 'Delete'}
        </button>
      </td>
    </tr>
  );
}

function CreateInstance({ projectId }: { projectId: string }) {
  const trpc = useTRPC();
  const flavors = useQuery(trpc.compute.flavors.getAll.queryOptions());
  const images = useQuery(trpc.images.getAll.queryOptions());
  const create = useMutation(trpc.compute.instances.create.mutationOptions());
  const [name, setName] = useState('');
  const [flavorId, setFlavorId] = useState('');
  const [imageId, setImageId] = useState('');
  const usableImages = (images.data ?? []).filter(
    (i) => i.status === 'active' && (i.visibility !== 'private' || i.owner === projectId),
  );
  const flavor = flavorId || flavors.data?.[0]?.id || '';
  const image = imageId || usableImages[0]?.id || '';

  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate(
      { projectId, name: name.trim(), flavorId: flavor, imageId: image },
      { onSuccess: () => setName('') },
    );
  };

  return (
    <form className="inline-form" onSubmit={submit} aria-label="Create instance">
      <input
        aria-label="Instance name"
        placeholder="New instance name"
        value={name}
        onChange={(e) => setName(e.target.value)}
      />
      <select aria-label="Flavor" value={flavor} onChange={(e) => setFlavorId(e.target.value)}>
        {flavors.data?.map((f) => (
          <option key={f.id} value={f.id}>
            {f.name} · {f.vcpus} vCPU · {f.ramMb / 1024} GiB
          </option>
        ))}
      </select>
      <select aria-label="Image" value={image} onChange={(e) => setImageId(e.target.value)}>
        {usableImages.map((i) => (
          <option key={i.id} value={i.id}>
            {i.name ?? i.id}
          </option>
        ))}
      </select>
      <button type="submit" disabled={create.isPending || !name.trim() || !flavor || !image}>
        {create.isPending ? 'Creating…' : 'Create instance'}
      </button>
      <ErrorText error={create.error} inline />
    </form>
  );
}
