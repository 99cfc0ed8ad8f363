/** Sign in with an account (tokens, refreshed silently) or with an API key. */
import { useState } from 'preact/hooks';
import { signIn, signInWithKey } from '../api.ts';
import { ErrorBox } from '../components/ui.tsx';
import { useAction } from '../data.ts';

export function SignInPage() {
  const [login, setLogin] = useState('');
  const [password, setPassword] = useState('');
  const [key, setKey] = useState('');
  const account = useAction();
  const apiKey = useAction();
  return (
    <main id="main" class="signin">
      <h1>Sign in to Ferry</h1>
      <form
        aria-label="Sign in with an account"
        onSubmit={(e) => {
          e.preventDefault();
          void account.run(() => signIn(login, password));
        }}
      >
        <label>
          Username or email
          <input
            name="login"
            autoComplete="username"
            required
            value={login}
            onInput={(e) => {
              setLogin(e.currentTarget.value);
            }}
          />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onInput={(e) => {
              setPassword(e.currentTarget.value);
            }}
          />
        </label>
        <button type="submit" disabled={account.busy}>
          Sign in
        </button>
        <ErrorBox error={account.error} />
      </form>
      <form
        aria-label="Sign in with an API key"
        onSubmit={(e) => {
          e.preventDefault();
          void apiKey.run(() => signInWithKey(key.trim()));
        }}
      >
        <label>
          API key
          <input
            name="api_key"
            type="password"
            autoComplete="off"
            placeholder="fry_…"
            required
            value={key}
            onInput={(e) => {
              setKey(e.currentTarget.value);
            }}
          />
        </label>
        <button type="submit" disabled={apiKey.busy}>
          Use API key
        </button>
        <ErrorBox error={apiKey.error} />
      </form>
    </main>
  );
}
