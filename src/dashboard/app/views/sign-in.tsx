/**
 * @module dashboard/app/views/sign-in
 * Asked for when the server has security on: an API key, or a user name and password. The
 * credentials are checked with one API call before the dashboard opens; a refusal is shown here.
 */
import { useState } from 'preact/hooks';
import type { Credentials } from '../credentials.js';

export function SignIn({
  onSubmit,
  refusal,
  busy,
}: {
  onSubmit: (credentials: Credentials) => void;
  refusal: string | undefined;
  busy: boolean;
}) {
  const [kind, setKind] = useState<'apiKey' | 'password'>('apiKey');
  const [apiKey, setApiKey] = useState('');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const submit = (event: Event): void => {
    event.preventDefault();
    onSubmit(kind === 'apiKey' ? { kind, apiKey } : { kind, username, password });
  };
  return (
    <main id="main" class="sign-in">
      <h1>Sign in to Tributary</h1>
      <p>This server has security on. Give an API key or a user name and password from its auth file.</p>
      <form onSubmit={submit} aria-describedby={refusal === undefined ? undefined : 'sign-in-refusal'}>
        <fieldset>
          <legend>Sign in with</legend>
          <label class="choice">
            <input
              type="radio"
              name="kind"
              value="apiKey"
              checked={kind === 'apiKey'}
              onChange={() => setKind('apiKey')}
            />
            an API key
          </label>
          <label class="choice">
            <input
              type="radio"
              name="kind"
              value="password"
              checked={kind === 'password'}
              onChange={() => setKind('password')}
            />
            a user name and password
          </label>
        </fieldset>
        {kind === 'apiKey' ? (
          <label>
            API key
            <input
              type="password"
              name="apiKey"
              autocomplete="off"
              required
              value={apiKey}
              onInput={(e) => setApiKey(e.currentTarget.value)}
            />
          </label>
        ) : (
          <>
            <label>
              User
              <input
                name="username"
                autocomplete="username"
                required
                value={username}
                onInput={(e) => setUsername(e.currentTarget.value)}
              />
            </label>
            <label>
              Password
              <input
                type="password"
                name="password"
                autocomplete="current-password"
                required
                value={password}
                onInput={(e) => setPassword(e.currentTarget.value)}
              />
            </label>
          </>
        )}
        {refusal === undefined ? null : (
          <p id="sign-in-refusal" class="error" role="alert">
            {refusal}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
