-- User-defined OpenAI- or Anthropic-compatible endpoints, each addressed by its own model prefix.

CREATE TABLE provider_nodes (
    id uuid PRIMARY KEY,
    prefix text NOT NULL UNIQUE,
    name text NOT NULL,
    type text NOT NULL CHECK (type IN ('openai-compatible', 'anthropic-compatible')),
    base_url text NOT NULL,
    api_key_enc bytea,
    models text[] NOT NULL DEFAULT '{}',
    is_active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
