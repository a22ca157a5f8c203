-- Usage roll-ups: one row per (UTC hour or UTC day, API key, provider, model, connection).
-- The worker adds to them in the same statement that inserts the raw usage_events rows, counting
-- only the rows that were new (ON CONFLICT DO NOTHING ... RETURNING), so a redelivered event is
-- never counted twice and the roll-ups add up exactly to the raw rows. They are kept when the
-- request-log retention job deletes old raw rows (history outlives the logs).

CREATE TABLE usage_hourly (
    bucket timestamptz NOT NULL,           -- start of the UTC hour
    api_key_id uuid,
    provider text,
    model text,
    connection_id uuid,
    requests bigint NOT NULL DEFAULT 0,
    errors bigint NOT NULL DEFAULT 0,      -- status >= 400 (client disconnects, 499, included)
    tokens_in bigint NOT NULL DEFAULT 0,
    tokens_out bigint NOT NULL DEFAULT 0,
    tokens_cached bigint NOT NULL DEFAULT 0,
    tokens_reasoning bigint NOT NULL DEFAULT 0,
    cost_micros bigint NOT NULL DEFAULT 0,
    latency_ms_sum numeric NOT NULL DEFAULT 0,  -- exact: sums of real values in any order agree
    latency_ms_max real NOT NULL DEFAULT 0,
    UNIQUE NULLS NOT DISTINCT (bucket, api_key_id, provider, model, connection_id)
);
CREATE INDEX usage_hourly_key_bucket ON usage_hourly (api_key_id, bucket);
CREATE INDEX usage_hourly_connection_bucket ON usage_hourly (connection_id, bucket);

CREATE TABLE usage_daily (LIKE usage_hourly INCLUDING DEFAULTS);
ALTER TABLE usage_daily ADD UNIQUE NULLS NOT DISTINCT (bucket, api_key_id, provider, model, connection_id);
CREATE INDEX usage_daily_key_bucket ON usage_daily (api_key_id, bucket);
CREATE INDEX usage_daily_connection_bucket ON usage_daily (connection_id, bucket);

-- Rows stored before this migration are rolled up once here.
INSERT INTO usage_hourly
SELECT date_trunc('hour', ts, 'UTC'), api_key_id, provider, model, connection_id,
       count(*), count(*) FILTER (WHERE status >= 400), sum(tokens_in), sum(tokens_out), sum(tokens_cached),
       sum(tokens_reasoning), sum(cost_micros), sum(latency_ms::numeric), max(latency_ms)
FROM usage_events GROUP BY 1, 2, 3, 4, 5;

INSERT INTO usage_daily
SELECT date_trunc('day', ts, 'UTC'), api_key_id, provider, model, connection_id,
       count(*), count(*) FILTER (WHERE status >= 400), sum(tokens_in), sum(tokens_out), sum(tokens_cached),
       sum(tokens_reasoning), sum(cost_micros), sum(latency_ms::numeric), max(latency_ms)
FROM usage_events GROUP BY 1, 2, 3, 4, 5;
