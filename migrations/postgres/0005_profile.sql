-- Each user's profile: the user agent's identity and schedule, their settings, the first activity
-- of each local day (to learn when they start their day), and their decayed interest scores.

-- One row per user agent: who it works for, where they are, and where their briefing stands.
CREATE TABLE user_agents (
    team_id            TEXT NOT NULL,
    user_id            TEXT NOT NULL,
    tz                 TEXT,
    tz_offset_secs     BIGINT,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    last_active_at     BIGINT,
    usual_minute       INTEGER,
    usual_learned      INTEGER NOT NULL DEFAULT 0,
    next_local_date    TEXT,
    next_prepare_at    BIGINT,
    next_deliver_at    BIGINT,
    last_prepared_date TEXT,
    last_prepared_at   BIGINT,
    last_briefing_date TEXT,
    last_delivered_at  BIGINT,
    state              TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX user_agents_due ON user_agents (next_prepare_at);

CREATE TABLE user_settings (
    team_id        TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    delivery_time  TEXT NOT NULL DEFAULT 'auto',
    delivery_days  INTEGER NOT NULL DEFAULT 31,
    muted_channels TEXT NOT NULL DEFAULT '[]',
    paused         INTEGER NOT NULL DEFAULT 0,
    quiet_day      TEXT NOT NULL DEFAULT 'note',
    language       TEXT,
    updated_at     BIGINT NOT NULL,
    PRIMARY KEY (team_id, user_id)
);

-- The first activity of each local day; the earliest one wins.
CREATE TABLE user_activity (
    team_id         TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    local_date      TEXT NOT NULL,
    first_active_at BIGINT NOT NULL,
    local_minute    INTEGER NOT NULL,
    source          TEXT NOT NULL,
    PRIMARY KEY (team_id, user_id, local_date)
);
CREATE INDEX user_activity_age ON user_activity (first_active_at);

-- Scores are stored undecayed as of updated_at; readers decay them.
CREATE TABLE interest_scores (
    team_id    TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    kind       TEXT NOT NULL,
    key        TEXT NOT NULL,
    display    TEXT NOT NULL,
    score      DOUBLE PRECISION NOT NULL,
    updated_at BIGINT NOT NULL,
    pinned     INTEGER NOT NULL DEFAULT 0,
    suppressed INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (team_id, user_id, kind, key)
);
CREATE INDEX interest_scores_age ON interest_scores (updated_at);

-- Signal ids already applied: the event bus delivers at least once.
CREATE TABLE interest_signals_applied (
    team_id    TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    signal_id  TEXT NOT NULL,
    applied_at BIGINT NOT NULL,
    PRIMARY KEY (team_id, user_id, signal_id)
);
CREATE INDEX interest_signals_applied_age ON interest_signals_applied (applied_at);
