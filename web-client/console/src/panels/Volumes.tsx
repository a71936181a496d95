// Volumes of the project: create, attach to an instance, delete.
import { useMutation, useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { useAutoRefetch, type RouterOutputs } from '@tidings/web-client';
import { useTRPC } from '../trpc';
import { Empty, ErrorText, Panel, StatusPill } from '../ui';

type Volume = RouterOutputs['volumes']['getAll'][number];
type Instance = RouterOutputs['compute']['instances']['getAll'][number];

export function Volumes({ projectId }: { projectId: string }) {
  const trpc = useTRPC();
  const volumes = useQuery(trpc.volumes.getAll.queryOptions({ projectId }));
  const instances = useQuery(trpc.compute.instances.getAll.queryOptions({ projectId }));
  useAutoRefetch(['volumes', 'compute']);
  const list = [...(volumes.data ?? [])].sort((a, b) =>
    (a.name ?? a.id).localeCompare(b.name ?? b.id),
  );

  return (
    <Panel
      title="Volumes"
      count={volumes.data?.length}
      loading={volumes.isPending}
      error={volumes.error}
      testId="volumes"
      actions={<CreateVolume projectId={projectId} />}
    >
      {list.length === 0 && !volumes.isPending ? (
        <Empty>No volumes in this project.</Empty>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Name</th>
              <th>Size</th>
              <th>Status</th>
              <th>Attached to</th>
              <th aria-label="Actions" />
            </tr>
          </thead>
          <tbody>
            {list.map((volume) => (
              <VolumeRow key={volume.id} volume={volume} instances={instances.data ?? []} />
            ))}
          </tbody>
        </table>
      )}
    </Panel>
  );
}

function VolumeRow({ volume, instances }: { volume: Volume; instances: Instance[] }) {
  const trpc = useTRPC();
  const remove = useMutation(trpc.volumes.delete.mutationOptions());
  const attach = useMutation(trpc.volumes.attach.mutationOptions());
  const [target, setTarget] = useState('');
  const attachedTo = volume.attachments.map(
    (a) => instances.find((i) => i.id === a.serverId)?.name ?? a.serverId.slice(0, 8),
  );
  const candidates = instances.filter((i) => i.status === 'ACTIVE' || i.status === 'SHUTOFF');
  const instanceId = target || candidates[0]?.id || '';
  const error = remove.error ?? attach.error;
  const name = volume.name ?? volume.id.slice(0, 8);

  return (
    <tr data-testid={`volume-${name}`}>
      <td className="name">{name}</td>
      <td>{volume.sizeGb} GiB</td>
      <td>
        <StatusPill status={volume.status} />
      </td>
      <td>{attachedTo.length ? attachedTo.join(', ') : <span className="muted">—</span>}</td>
      <td className="actions">
        <ErrorText error={error} inline />
        {volume.status === 'available' && candidates.length > 0 && (
          <span className="attach">
            <select
              aria-label={`Attach ${name} to`}
              value={instanceId}
              onChange={(e) => setTarget(e.target.value)}
            >
              {candidates.map((i) => (
                <option key={i.id} value={i.id}>
                  {i.name}
                </option>
              ))}
            </select>
            <button
              disabled={attach.isPending || !instanceId}
              onClick={() => attach.mutate({ volumeId: volume.id, instanceId })}
            >
              {attach.isPending ? 'Attaching…' : 'Attach'}
            </button>
          </span>
        )}
        <button
          className="danger"
          disabled={remove.isPending || remove.isSuccess}
          onClick={() => remove.mutate({ id: volume.id })}
        >
          {remove.isPending ? 'Deleting…' : remove.isSuccess ? 'Deleted' : 'Delete'}
        </button>
      </td>
    </tr>
  );
}

function CreateVolume({ projectId }: { projectId: string }) {
  const trpc = useTRPC();
  const create = useMutation(trpc.volumes.create.mutationOptions());
  const [name, setName] = useState('');
  const [size, setSize] = useState('1');

  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate(
      { projectId, name: name.trim(), sizeGb: Number(size) },
      { onSuccess: () => setName('') },
    );
  };

  return (
    <form className="inline-form" onSubmit={submit} aria-label="Create volume">
      <input
        aria-label="Volume name"
        placeholder="New volume name"
        value={name}
        onChange={(e) => setName(e.target.value)}
      />
      <input
        aria-label="Size (GiB)"
        className="size"
        type="number"
        min={1}
        value={size}
        onChange={(e) => setSize(e.target.value)}
      />
      <span className="muted small">GiB</span>
      <button type="submit" disabled={create.isPending || !name.trim()}>
        {create.isPending ? 'Creating…' : 'Create volume'}
      </button>
      <ErrorText error={create.error} inline />
    </form>
  );
}
