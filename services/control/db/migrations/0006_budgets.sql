-- Per-API-key USD budgets (SPEC §4): a limit in integer micro-dollars per UTC calendar period.
-- The edge enforces them from the snapshot (reserve-then-settle in Redis); a worker reconciles
-- the Redis counters with usage_events.cost_micros.

CREATE TABLE api_key_budgets (
    api_key_id uuid PRIMARY KEY REFERENCES api_keys (id) ON DELETE CASCADE,
    limit_micros bigint NOT NULL CHECK (limit_micros > 0),
    period text NOT NULL CHECK (period IN ('daily', 'weekly', 'monthly')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
