-- Cluster states that say why a cluster is not ready (issue 14): `unauthorized` (the credentials
-- are refused: update the kubeconfig) and `forbidden` (RBAC: grant a permission) apart from
-- `unreachable` (network, TLS, a silent API server); and when the watching replica retries.
ALTER TABLE cluster_status DROP CONSTRAINT cluster_status_state_check;
ALTER TABLE cluster_status ADD CONSTRAINT cluster_status_state_check
    CHECK (state IN ('connecting', 'ready', 'degraded', 'unreachable', 'unauthorized', 'forbidden'));
ALTER TABLE cluster_status ADD COLUMN next_retry_at timestamptz;
