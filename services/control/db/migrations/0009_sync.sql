-- Cloud sync: the one sync configuration row (remote and passphrase encrypted with the storage key)
-- and tombstones, so a deletion travels to the other side instead of being undone by its copy.

CREATE TABLE sync_state (
    id smallint PRIMARY KEY CHECK (id = 1),
    remote_kind text NOT NULL CHECK (remote_kind IN ('none', 's3', 'peer')),
    remote_public jsonb NOT NULL DEFAULT '{}'::jsonb,  -- endpoint, bucket, prefix, region, key id, URL
    remote_secret_enc bytea,                           -- the S3 secret key or the peer's sync token
    passphrase_enc bytea NOT NULL,
    cloud_token_hash text,                             -- SHA-256 of the token peers present at /api/cloud
    enabled boolean NOT NULL DEFAULT false,
    interval_seconds integer NOT NULL DEFAULT 300 CHECK (interval_seconds BETWEEN 30 AND 86400),
    bundle_version bigint NOT NULL DEFAULT 0,          -- the last bundle version pushed, pulled or received
    remote_version bigint,
    last_push_at timestamptz,
    last_pull_at timestamptz,
    last_sync_at timestamptz,
    last_error text,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sync_tombstones (
    table_name text NOT NULL,
    record_key text NOT NULL,
    deleted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (table_name, record_key)
);

-- The record key of a row as sync spells it: the primary key as text, or a JSON array when composite.
CREATE FUNCTION sync_record_key(table_name text, row_json jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE table_name
        WHEN 'model_aliases' THEN row_json ->> 'alias'
        WHEN 'settings' THEN row_json ->> 'key'
        WHEN 'pricing' THEN jsonb_build_array(row_json -> 'provider', row_json -> 'model')::text
        ELSE row_json ->> 'id'
    END
$$;

CREATE FUNCTION sync_note_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Deletions applied by sync itself carry the remote's deletion time (set by the sync code).
    IF current_setting('omniroute.sync_apply', true) = 'on' THEN
        RETURN OLD;
    END IF;
    INSERT INTO sync_tombstones (table_name, record_key, deleted_at)
    VALUES (TG_TABLE_NAME, sync_record_key(TG_TABLE_NAME, to_jsonb(OLD)), clock_timestamp())
    ON CONFLICT (table_name, record_key) DO UPDATE SET deleted_at = EXCLUDED.deleted_at;
    RETURN OLD;
END
$$;

CREATE FUNCTION sync_forget_tombstone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM sync_tombstones
    WHERE table_name = TG_TABLE_NAME AND record_key = sync_record_key(TG_TABLE_NAME, to_jsonb(NEW));
    RETURN NEW;
END
$$;

DO $$
DECLARE
    synced text;
BEGIN
    FOREACH synced IN ARRAY ARRAY['provider_connections', 'provider_nodes', 'api_keys', 'combos',
                                  'model_aliases', 'policies', 'settings', 'provider_models', 'pricing']
    LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %I FOR EACH ROW EXECUTE FUNCTION sync_note_delete()',
                       synced || '_sync_delete', synced);
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %I FOR EACH ROW EXECUTE FUNCTION sync_forget_tombstone()',
                       synced || '_sync_insert', synced);
    END LOOP;
END
$$;
