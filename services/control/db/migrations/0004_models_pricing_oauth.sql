-- Custom models per provider (add, update, hide/show), price overrides per provider and model, and
-- OAuth credentials on provider connections (tokens encrypted like API keys; the version column is
-- the compare-and-swap guard that serialises refresh-token rotation across the cluster).

CREATE TABLE provider_models (
    id uuid PRIMARY KEY,
    provider text NOT NULL,                -- catalog provider id or a provider node's prefix
    model text NOT NULL,
    display_name text,
    kind text NOT NULL DEFAULT 'chat',
    hidden boolean NOT NULL DEFAULT false,
    context_window integer CHECK (context_window > 0),
    max_output_tokens integer CHECK (max_output_tokens > 0),
    capabilities jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (provider, model)
);

-- US dollars per one million tokens; NULL cached/reasoning prices fall back to input/output.
CREATE TABLE pricing (
    provider text NOT NULL,
    model text NOT NULL,
    input_per_million numeric(14, 6) NOT NULL CHECK (input_per_million >= 0),
    output_per_million numeric(14, 6) NOT NULL CHECK (output_per_million >= 0),
    cached_per_million numeric(14, 6) CHECK (cached_per_million >= 0),
    reasoning_per_million numeric(14, 6) CHECK (reasoning_per_million >= 0),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, model)
);

ALTER TABLE provider_connections
    ADD COLUMN oauth_access_token_enc bytea,
    ADD COLUMN oauth_refresh_token_enc bytea,
    ADD COLUMN oauth_expires_at timestamptz,
    ADD COLUMN oauth_scope text,
    ADD COLUMN oauth_token_version bigint NOT NULL DEFAULT 0;
