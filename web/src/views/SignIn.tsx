// Sign in with an API token (POST /api/v1/session sets an HttpOnly cookie), or through the
// identity provider when OIDC is configured.
import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useNavigate, useSearchParams } from 'react-router';
import { errorMessage } from '../api/client';
import { safeNext, signIn } from '../api/session';

export default function SignIn() {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const qc = useQueryClient();
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const next = safeNext(params.get('next'));

  return (
    <div className="login">
      <form
        className="login-box form"
        aria-label="Sign in"
        onSubmit={(e) => {
          e.preventDefault();
          setBusy(true);
          setError(null);
          signIn(token.trim())
            .then(() => {
              qc.clear();
              navigate(next, { replace: true });
            })
            .catch((err: unknown) => setError(errorMessage(err)))
            .finally(() => setBusy(false));
        }}
      >
        <h1>flux-orchestrator</h1>
        <p className="muted">Sign in to watch and operate Flux across your clusters.</p>
        <label className="field">
          <span>API token</span>
          <input
            className="input mono"
            type="password"
            name="token"
            autoComplete="off"
            required
            maxLength={512}
            value={token}
            onChange={(e) => setToken(e.target.value)}
            autoFocus
            aria-invalid={error !== null}
            aria-describedby="signin-error"
          />
        </label>
        {error && (
          <div className="field-error" role="alert" id="signin-error">
            {error}
          </div>
        )}
        <button type="submit" className="btn btn-primary" disabled={busy || !token.trim()}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p className="small muted">
          An admin creates tokens under <em>Tokens</em>; the first admin token is printed in the server log at the first start. With
          single sign-on configured: <a href="/auth/oidc/login">sign in with your identity provider</a>.
        </p>
      </form>
    </div>
  );
}
