-- The cluster registry. Credentials are AES-256-GCM ciphertext (see src/clusters/crypto.rs):
-- the server never stores or returns them in clear.
CREATE TABLE clusters (
    id           uuid PRIMARY KEY,
    name         text NOT NULL UNIQUE,
    description  text NOT NULL DEFAULT '',
    source       text NOT NULL CHECK (source IN ('kubeconfig', 'in-cluster')),
    server_url   text NOT NULL,
    context      text NOT NULL DEFAULT '',
    insecure     boolean NOT NULL DEFAULT false,
    credentials  bytea NOT NULL,
    labels       jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX clusters_labels_idx ON clusters USING gin (labels);
