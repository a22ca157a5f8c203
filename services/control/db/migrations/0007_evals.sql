-- Evals (SPEC §7): suites of cases run by the workers through the edge against a model or combo.

CREATE TABLE eval_suites (
    id uuid PRIMARY KEY,
    name text NOT NULL UNIQUE,
    description text NOT NULL DEFAULT '',
    built_in boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Cases are written with their suite and never edited, so a run's results always refer to the
-- cases it ran.
CREATE TABLE eval_cases (
    id uuid PRIMARY KEY,
    suite_id uuid NOT NULL REFERENCES eval_suites (id) ON DELETE CASCADE,
    position integer NOT NULL,
    name text NOT NULL DEFAULT '',
    messages jsonb NOT NULL,                      -- OpenAI chat shape: [{"role", "content"}, ...]
    expected text,                                -- exact / contains text, or the regex pattern
    scoring text NOT NULL CHECK (scoring IN ('exact', 'contains', 'regex', 'judge')),
    case_sensitive boolean NOT NULL DEFAULT true, -- contains (and regex) only
    rubric text,                                  -- judge only
    max_tokens integer CHECK (max_tokens > 0),
    temperature real CHECK (temperature >= 0 AND temperature <= 2),
    UNIQUE (suite_id, position),
    CHECK (scoring = 'judge' OR expected IS NOT NULL),
    CHECK (scoring <> 'judge' OR rubric IS NOT NULL)
);

CREATE TABLE eval_runs (
    id uuid PRIMARY KEY,
    suite_id uuid NOT NULL REFERENCES eval_suites (id) ON DELETE CASCADE,
    model text NOT NULL,
    judge_model text,
    concurrency smallint NOT NULL DEFAULT 4 CHECK (concurrency BETWEEN 1 AND 32),
    status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
    case_count integer NOT NULL DEFAULT 0,
    passed_count integer NOT NULL DEFAULT 0,
    failed_count integer NOT NULL DEFAULT 0,
    error_count integer NOT NULL DEFAULT 0,      -- cases whose call or judging failed (also counted as failed)
    pass_rate real,
    avg_latency_ms real,
    tokens_in bigint NOT NULL DEFAULT 0,
    tokens_out bigint NOT NULL DEFAULT 0,
    cost_micros bigint NOT NULL DEFAULT 0,
    judge_cost_micros bigint NOT NULL DEFAULT 0,
    error text,
    -- The inference key minted for this run (scope inference, allowed models = model + judge,
    -- expiring): its raw value encrypted for the worker, cleared when the run ends.
    api_key_id uuid REFERENCES api_keys (id) ON DELETE SET NULL,
    api_key_enc bytea,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    finished_at timestamptz
);
CREATE INDEX eval_runs_recent ON eval_runs (created_at DESC, id);
CREATE INDEX eval_runs_by_suite ON eval_runs (suite_id, created_at DESC);

-- One row per (run, case): the primary key makes a rerun or a resumed run unable to duplicate.
CREATE TABLE eval_results (
    run_id uuid NOT NULL REFERENCES eval_runs (id) ON DELETE CASCADE,
    case_id uuid NOT NULL REFERENCES eval_cases (id) ON DELETE CASCADE,
    position integer NOT NULL,
    output text,
    passed boolean NOT NULL,
    score real,
    latency_ms real,
    tokens_in integer,
    tokens_out integer,
    cost_micros bigint,
    judge_output text,
    judge_cost_micros bigint,
    request_id text,
    error text,
    started_at timestamptz,                       -- when the call to the edge began (with latency_ms: its span)
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, case_id)
);

-- The built-in suite: predictable against the fake upstream (it answers "Hello! You said: <last
-- user text>"), meaningful enough against a real model to smoke-test a route.
INSERT INTO eval_suites (id, name, description, built_in) VALUES (
    '0e7a1000-0000-4000-8000-000000000001', 'gateway-smoke',
    'Checks a model answers through the gateway: an echo, a greeting, a pattern and a judged answer. '
    'Every case passes against the fake upstream (omniroute fake-upstream).', true);
INSERT INTO eval_cases (id, suite_id, position, name, messages, expected, scoring, case_sensitive, rubric, max_tokens) VALUES
    ('0e7a1000-0000-4000-8000-000000000101', '0e7a1000-0000-4000-8000-000000000001', 0, 'echo',
     '[{"role": "user", "content": "ping"}]', 'Hello! You said: ping', 'exact', true, NULL, 64),
    ('0e7a1000-0000-4000-8000-000000000102', '0e7a1000-0000-4000-8000-000000000001', 1, 'greeting',
     '[{"role": "system", "content": "Answer with a friendly greeting."}, {"role": "user", "content": "Say hello"}]',
     'hello', 'contains', false, NULL, 64),
    ('0e7a1000-0000-4000-8000-000000000103', '0e7a1000-0000-4000-8000-000000000001', 2, 'arithmetic',
     '[{"role": "user", "content": "What is 2+2? Answer with the number 4."}]', '\b4\b', 'regex', true, NULL, 64),
    ('0e7a1000-0000-4000-8000-000000000104', '0e7a1000-0000-4000-8000-000000000001', 3, 'judged',
     '[{"role": "user", "content": "Greet me in one short sentence."}]', NULL, 'judge', true,
     'Any answer that greets the user earns VERDICT: PASS; an answer without a greeting fails.', 64);
