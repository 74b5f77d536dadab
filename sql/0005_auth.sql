-- Authentication and audit (issue 6). Secrets are never stored: tokens and session ids are kept
-- as SHA-256 digests of random 256-bit values, so a database dump grants no access.

-- API tokens. `source` is 'api' (created through the API), 'env' (FLUXO_ADMIN_TOKEN; at most one,
-- replaced when the variable changes) or 'generated' (the first-start bootstrap token).
CREATE TABLE api_tokens (
    id            uuid PRIMARY KEY,
    name          text NOT NULL,
    role          text NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    scope         jsonb,
    digest        bytea NOT NULL UNIQUE,
    hint          text NOT NULL,
    source        text NOT NULL DEFAULT 'api' CHECK (source IN ('api', 'env', 'generated')),
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz,
    last_used_at  timestamptz,
    revoked_at    timestamptz
);
CREATE UNIQUE INDEX api_tokens_one_env ON api_tokens (source) WHERE source = 'env';

-- Browser sessions (cookie). A session made from an API token dies with the token.
CREATE TABLE sessions (
    digest        bytea PRIMARY KEY,
    token_id      uuid REFERENCES api_tokens (id) ON DELETE CASCADE,
    subject       text NOT NULL,
    role          text NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    scope         jsonb,
    method        text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- Who did what, when, from where, with what result.
CREATE TABLE audit_log (
    id            bigserial PRIMARY KEY,
    at            timestamptz NOT NULL DEFAULT now(),
    actor         text NOT NULL,
    auth_method   text NOT NULL,
    role          text,
    remote        text NOT NULL,
    operation     text NOT NULL,
    method        text NOT NULL,
    path          text NOT NULL,
    cluster       text,
    object        text,
    reason        text,
    status        integer NOT NULL,
    result        text NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at DESC);
