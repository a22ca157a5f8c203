-- Routing policies: conditions (model globs, API keys, UTC weekdays and hours) -> actions, evaluated
-- at the edge from the snapshot in priority order (lowest first). Combos and aliases live in 0001.

CREATE TABLE policies (
    id uuid PRIMARY KEY,
    name text NOT NULL UNIQUE,
    priority integer NOT NULL DEFAULT 100,
    enabled boolean NOT NULL DEFAULT true,
    models text[] NOT NULL DEFAULT '{}',
    key_ids uuid[] NOT NULL DEFAULT '{}',
    days smallint[] NOT NULL DEFAULT '{}' CHECK (days <@ ARRAY[0, 1, 2, 3, 4, 5, 6]::smallint[]),
    hour_from smallint CHECK (hour_from BETWEEN 0 AND 24),
    hour_to smallint CHECK (hour_to BETWEEN 0 AND 24),
    effect text NOT NULL DEFAULT 'allow' CHECK (effect IN ('allow', 'deny')),
    prefer_providers text[] NOT NULL DEFAULT '{}',
    max_tokens integer CHECK (max_tokens > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((hour_from IS NULL) = (hour_to IS NULL)),
    CHECK (hour_from IS NULL OR hour_from < hour_to)
);
CREATE INDEX policies_enabled_order ON policies (priority, name) WHERE enabled;
