// Placeholder until the session endpoints exist (issue 6): explains why the API refused.
import { Link } from 'react-router';

export default function Login() {
  return (
    <div className="login">
      <div className="login-box">
        <h1>flux-orchestrator</h1>
        <p>The server asks you to sign in. Sign-in is not available in this version of the UI yet.</p>
        <Link to="/">Back to the overview</Link>
      </div>
    </div>
  );
}
