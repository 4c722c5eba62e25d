-- The Org Chart Keeper (features::org): an append-only log of interactions between people, the
-- folded state at some points of it (snapshots, so a rebuild replays only the tail) and the
-- projection read by /chief team, the App Home and ranking. The log is the truth: snapshots and
-- the projection are rebuilt from it (`chief org rebuild`). A row derived from a message carries
-- its channel and ts, and goes when the message does (db::purge).
CREATE TABLE org_interactions (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    team_id    TEXT NOT NULL,
    kind       TEXT NOT NULL,
    actor      TEXT NOT NULL,
    target     TEXT NOT NULL DEFAULT '',
    channel_id TEXT,
    message_ts TEXT,
    at         BIGINT NOT NULL,
    weight     BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX org_interactions_log ON org_interactions (team_id, seq);
CREATE INDEX org_interactions_message ON org_interactions (team_id, channel_id, message_ts);

-- The state folded from the log up to (and including) `up_to_seq`, as JSON.
CREATE TABLE org_snapshots (
    team_id    TEXT NOT NULL,
    up_to_seq  BIGINT NOT NULL,
    state      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (team_id, up_to_seq)
);

-- One row per person: their inferred (or corrected) team, whether they lead it, and the evidence.
CREATE TABLE org_projection (
    team_id    TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    team_name  TEXT NOT NULL DEFAULT '',
    is_lead    INTEGER NOT NULL DEFAULT 0,
    evidence   TEXT NOT NULL,
    up_to_seq  BIGINT NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX org_projection_team ON org_projection (team_id, team_name);
