-- Workspaces chief is installed in, and the durable inbox every Slack request lands in.
CREATE TABLE teams (
    team_id        TEXT PRIMARY KEY,
    name           TEXT,
    bot_user_id    TEXT,
    bot_id         TEXT,
    bot_token_enc  BLOB,
    installed_at   BIGINT NOT NULL,
    status         TEXT NOT NULL DEFAULT 'active'
);

CREATE TABLE inbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    dedupe_key      TEXT NOT NULL UNIQUE,
    source          TEXT NOT NULL,
    team_id         TEXT,
    kind            TEXT NOT NULL,
    payload         TEXT NOT NULL,
    received_at     BIGINT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL DEFAULT 0,
    lease_owner     TEXT,
    lease_until     BIGINT,
    processed_at    BIGINT,
    last_error      TEXT
);
CREATE INDEX inbox_pending ON inbox (status, next_attempt_at, id);
CREATE INDEX inbox_team ON inbox (team_id);
