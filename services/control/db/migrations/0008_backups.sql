-- Stored backups (/api/db-backups): each row is one SQLite export (shared/backups/), kept in Postgres so
-- the workers that write scheduled backups and the control plane that lists and restores them need no
-- shared volume. `job_key` makes a scheduled backup idempotent: one per interval, however many
-- workers run the job.

CREATE TABLE db_backups (
    id uuid PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    kind text NOT NULL CHECK (kind IN ('scheduled', 'manual')),
    job_key text UNIQUE,
    size_bytes bigint NOT NULL CHECK (size_bytes >= 0),
    sha256 text NOT NULL,
    row_counts jsonb NOT NULL DEFAULT '{}'::jsonb,
    content bytea NOT NULL
);
CREATE INDEX db_backups_kind_created ON db_backups (kind, created_at DESC);
