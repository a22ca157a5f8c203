-- Core configuration, audit and usage tables.

CREATE TABLE config_version (
    id smallint PRIMARY KEY CHECK (id = 1),
    version bigint NOT NULL
);
INSERT INTO config_version (id, version) VALUES (1, 1);

CREATE TABLE admin_auth (
    id smallint PRIMARY KEY CHECK (id = 1),
    password_hash text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE provider_connections (
    id uuid PRIMARY KEY,
    provider text NOT NULL,
    name text NOT NULL,
    auth_type text NOT NULL DEFAULT 'apikey',
    api_key_enc bytea,
    base_url text,
    priority integer NOT NULL DEFAULT 1,
    is_active boolean NOT NULL DEFAULT true,
    default_model text,
    models text[] NOT NULL DEFAULT '{}',
    provider_specific_data jsonb NOT NULL DEFAULT '{}'::jsonb,
    max_requests_per_minute integer CHECK (max_requests_per_minute > 0),
    max_requests_per_day integer CHECK (max_requests_per_day > 0),
    max_tokens_per_minute integer CHECK (max_tokens_per_minute > 0),
    max_concurrent integer CHECK (max_concurrent > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (provider, name)
);

CREATE TABLE api_keys (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    key_hash text NOT NULL UNIQUE,
    key_prefix text NOT NULL,
    scopes text[] NOT NULL DEFAULT '{inference}',
    allowed_models text[] NOT NULL DEFAULT '{}',
    max_requests_per_minute integer CHECK (max_requests_per_minute > 0),
    max_requests_per_day integer CHECK (max_requests_per_day > 0),
    max_tokens_per_minute integer CHECK (max_tokens_per_minute > 0),
    expires_at timestamptz,
    revoked_at timestamptz,
    last_used_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_keys_active ON api_keys (created_at) WHERE revoked_at IS NULL;

CREATE TABLE combos (
    id uuid PRIMARY KEY,
    name text NOT NULL UNIQUE,
    strategy text NOT NULL DEFAULT 'priority',
    steps jsonb NOT NULL DEFAULT '[]'::jsonb,
    config jsonb NOT NULL DEFAULT '{}'::jsonb,
    is_active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE model_aliases (
    alias text PRIMARY KEY,
    model text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE settings (
    key text PRIMARY KEY,
    value jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE audit_log (
    id bigserial PRIMARY KEY,
    ts timestamptz NOT NULL DEFAULT now(),
    actor text NOT NULL,
    action text NOT NULL,
    target_type text,
    target_id text,
    before jsonb,
    after jsonb,
    request_id text,
    client_ip text
);
CREATE INDEX audit_log_ts ON audit_log (ts DESC, id DESC);
CREATE INDEX audit_log_action ON audit_log (action, ts DESC);
CREATE INDEX audit_log_actor ON audit_log (actor, ts DESC);
CREATE INDEX audit_log_target ON audit_log (target_id, ts DESC);

CREATE TABLE usage_events (
    request_id text PRIMARY KEY,
    ts timestamptz NOT NULL,
    endpoint text NOT NULL,
    status smallint NOT NULL,
    api_key_id uuid,
    provider text,
    connection_id uuid,
    model text,
    requested_model text,
    stream boolean NOT NULL DEFAULT false,
    tokens_in integer NOT NULL DEFAULT 0,
    tokens_out integer NOT NULL DEFAULT 0,
    tokens_cached integer NOT NULL DEFAULT 0,
    tokens_reasoning integer NOT NULL DEFAULT 0,
    cost_micros bigint NOT NULL DEFAULT 0,
    latency_ms real NOT NULL DEFAULT 0,
    ttfb_ms real,
    cache text,
    fallback_attempts smallint NOT NULL DEFAULT 0,
    error_code text,
    inserted_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX usage_events_ts ON usage_events (ts DESC);
CREATE INDEX usage_events_key_ts ON usage_events (api_key_id, ts DESC);
CREATE INDEX usage_events_provider_ts ON usage_events (provider, ts DESC);
CREATE INDEX usage_events_connection_ts ON usage_events (connection_id, ts DESC);
