// The login screen: user name, password and, optionally, the one project to work in. The
// server answers with who is logged in and sets the session cookie; the console keeps no token.
// The demo runs over a simulated cloud, so its seeded accounts are listed and fill the form.
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { isForbidden, isUnauthorized } from '@tidings/web-client';
import { useTRPC } from './trpc';
import { setSession } from './session';

const DEMO_USERS = [
  { username: 'admin', what: 'administrator of every project' },
  { username: 'alice', what: 'member of demo' },
  { username: 'bob', what: 'member of ops' },
  { username: 'carol', what: 'reader of demo (may look, not change)' },
];

export function Login() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [project, setProject] = useState('');
  const login = useMutation(
    trpc.auth.login.mutationOptions({
      onSuccess: (result) => setSession(queryClient, result.me),
    }),
  );

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const chosen = project.trim();
    login.mutate({ username: username.trim(), password, ...(chosen ? { project: chosen } : {}) });
  };

  const fill = (name: string) => {
    setUsername(name);
    setPassword(name);
    login.reset();
  };

  return (
    <div className="center">
      <div className="card login" data-testid="login">
        <div className="brand">
          <span className="logo" aria-hidden />
          <span>Tidings</span>
          <span className="muted">cloud console</span>
        </div>
        <h1>Log in</h1>
        <form className="login-form" onSubmit={submit} aria-label="Log in">
          <label>
            <span>User name</span>
            <input
              name="username"
              autoComplete="username"
              autoFocus
              value={username}
              onChange={(e) => setUsername(e.target.value)}
            />
          </label>
          <label>
            <span>Password</span>
            <input
              name="password"
              type="password"
              autoComplete="current-password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          </label>
          <label>
            <span>
              Project <span className="muted small">(optional)</span>
            </span>
            <input
              name="project"
              placeholder="every project you have a role on"
              value={project}
              onChange={(e) => setProject(e.target.value)}
            />
          </label>
          {login.error && (
            <p className="error" role="alert">
              {isUnauthorized(login.error)
                ? 'Wrong user name or password.'
                : isForbidden(login.error)
                  ? `Not allowed: ${login.error.message}.`
                  : login.error.message}
            </p>
          )}
          <button type="submit" disabled={login.isPending || !username.trim() || !password}>
            {login.isPending ? 'Logging in…' : 'Log in'}
          </button>
        </form>
        <div className="demo-users">
          <p className="muted small">
            Demo over a simulated cloud: each account's password is its name.
          </p>
          <ul>
            {DEMO_USERS.map((user) => (
              <li key={user.username}>
                <button type="button" className="link" onClick={() => fill(user.username)}>
                  {user.username}
                </button>
                <span className="muted small">{user.what}</span>
              </li>
            ))}
          </ul>
        </div>
      </div>
    </div>
  );
}
