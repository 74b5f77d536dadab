// A real OpenID provider for tests/oidc_login.rs: node-oidc-provider (OpenID Certified), on
// 127.0.0.1, with one confidential client, PKCE required, RS256 ID tokens carrying a `groups`
// claim, and the built-in development login screens (any login name is accepted).
//
// Environment: PORT, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, KID (the signing key's id; a new
// RSA key is generated at every start, so restarting with the same KID is a provider signing
// with a key the relying party has never seen under that id, and a new KID is a key rotation),
// GROUPS (JSON: login -> groups), CLOCK_OFFSET_SECS (the provider's clock is off by this much).
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const env = (name, fallback) => process.env[name] ?? fallback;
const offset = Number(env('CLOCK_OFFSET_SECS', '0')) * 1000;
if (offset) {
  const realNow = Date.now;
  Date.now = () => realNow() + offset;
}
const port = Number(env('PORT', '0'));
const issuer = `http://127.0.0.1:${port}`;
const groups = JSON.parse(env('GROUPS', '{}'));
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: env('KID', 'k1'), alg: 'RS256', use: 'sig' };

const provider = new Provider(issuer, {
  clients: [{
    client_id: env('CLIENT_ID', 'fluxo'),
    client_secret: env('CLIENT_SECRET', 'fluxo-secret'),
    redirect_uris: [env('REDIRECT_URI', 'http://127.0.0.1/auth/oidc/callback')],
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_post',
  }],
  jwks: { keys: [jwk] },
  pkce: { required: () => true },
  claims: { openid: ['sub'], email: ['email'], profile: ['name'], groups: ['groups'] },
  conformIdTokenClaims: false,
  cookies: { keys: ['test-only-cookie-key'] },
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: `${id}@example.com`, name: id, groups: groups[id] ?? [] };
      },
    };
  },
});
provider.on('server_error', (ctx, err) => console.error('provider error', err));
const server = provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc provider listening on ${issuer}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
