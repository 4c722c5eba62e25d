-- The job queue and durable runs (see notes/runs.md).

-- Work to do later or elsewhere, claimed by any chief process under a lease.
-- status: queued (waiting), running (leased), failed (last attempt failed; retried at run_at),
-- done, dead (never retried again: permanent failure or attempts exhausted; kept for inspection).
CREATE TABLE jobs (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    team_id         TEXT NOT NULL,
    kind            TEXT NOT NULL,
    payload         TEXT NOT NULL,
    priority        INTEGER NOT NULL DEFAULT 0,
    run_at          BIGINT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'queued',
    attempts        INTEGER NOT NULL DEFAULT 0,
    max_attempts    INTEGER NOT NULL DEFAULT 5,
    lease_owner     TEXT,
    lease_until     BIGINT,
    last_error      TEXT,
    idempotency_key TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    finished_at     BIGINT,
    UNIQUE (team_id, idempotency_key)
);
CREATE INDEX jobs_claim ON jobs (status, run_at);
CREATE INDEX jobs_team ON jobs (team_id, status);

-- Fairness: when each team was last served by a claim (a counter, not a clock).
CREATE TABLE job_teams (
    team_id    TEXT PRIMARY KEY,
    served_seq BIGINT NOT NULL
);

-- A run: one purpose (e.g. "briefing for U on D") composed of recorded steps.
-- status: running, succeeded, failed (resumable: start_or_resume picks it up again).
CREATE TABLE runs (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    team_id         TEXT NOT NULL,
    user_id         TEXT,
    kind            TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'running',
    job_id          BIGINT,
    error           TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    finished_at     BIGINT,
    UNIQUE (team_id, kind, idempotency_key)
);
CREATE INDEX runs_recent ON runs (created_at);

-- One row per (step name, input) of a run: its output is what a resumed run reuses.
-- status: running, ok, failed.
CREATE TABLE run_steps (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id            BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    ordinal           INTEGER NOT NULL,
    name              TEXT NOT NULL,
    input_hash        TEXT NOT NULL,
    input_summary     TEXT NOT NULL,
    output            TEXT,
    prompt_tokens     BIGINT NOT NULL DEFAULT 0,
    completion_tokens BIGINT NOT NULL DEFAULT 0,
    duration_ms       BIGINT NOT NULL DEFAULT 0,
    status            TEXT NOT NULL DEFAULT 'running',
    attempts          INTEGER NOT NULL DEFAULT 0,
    error             TEXT,
    verdict           TEXT,
    source            TEXT,
    started_at        BIGINT NOT NULL,
    finished_at       BIGINT,
    UNIQUE (run_id, name, input_hash)
);
