// What both React apps show: the projects, and one project's volumes with a form that creates
// one. The data and the mutation come from each app's own tRPC integration.
import { useState } from 'react';

export function Page(props: {
  status: string;
  projects: string[] | undefined;
  volumes: string[] | undefined;
  onCreate: (name: string) => void;
}) {
  const [name, setName] = useState('');
  return (
    <main data-stream={props.status}>
      <ul aria-label="Projects">
        {props.projects?.map((project) => (
          <li key={project}>{project}</li>
        ))}
      </ul>
      <form
        aria-label="Create volume"
        onSubmit={(event) => {
          event.preventDefault();
          props.onCreate(name);
        }}
      >
        <input aria-label="Volume name" value={name} onChange={(e) => setName(e.target.value)} />
        <button type="submit">Create volume</button>
      </form>
      <ul aria-label="Volumes">
        {props.volumes?.map((volume, i) => (
          <li key={i}>{volume}</li>
        ))}
      </ul>
    </main>
  );
}
