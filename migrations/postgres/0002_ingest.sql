-- Ingestion: the directory (users, channels, membership), the message store, reactions, the internal
-- event bus and backfill progress. Every team-scoped table has a team_id column and is listed in
-- src/db/purge.rs, which is what uninstall and message deletion walk.

CREATE TABLE users (
    team_id       TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    name          TEXT,
    display_name  TEXT,
    real_name     TEXT,
    tz            TEXT,
    tz_offset     INTEGER,
    locale        TEXT,
    is_bot        INTEGER NOT NULL DEFAULT 0,
    deleted       INTEGER NOT NULL DEFAULT 0,
    -- When the information was true (export date or fetch time): an older source never overwrites.
    source_at     BIGINT NOT NULL DEFAULT 0,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (team_id, user_id)
);

CREATE TABLE channels (
    team_id       TEXT NOT NULL,
    channel_id    TEXT NOT NULL,
    name          TEXT,
    is_private    INTEGER NOT NULL DEFAULT 0,
    is_im         INTEGER NOT NULL DEFAULT 0,
    is_mpim       INTEGER NOT NULL DEFAULT 0,
    is_archived   INTEGER NOT NULL DEFAULT 0,
    -- chief's bot is in the channel.
    is_member     INTEGER NOT NULL DEFAULT 0,
    source_at     BIGINT NOT NULL DEFAULT 0,
    -- When the member list was last replaced as a whole (NULL: never known).
    members_at    BIGINT,
    -- When conversations.info last succeeded (NULL: a stub made from an event).
    synced_at     BIGINT,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (team_id, channel_id)
);

CREATE TABLE channel_members (
    team_id     TEXT NOT NULL,
    channel_id  TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    PRIMARY KEY (team_id, channel_id, user_id)
);
CREATE INDEX channel_members_user ON channel_members (team_id, user_id);

CREATE TABLE messages (
    team_id      TEXT NOT NULL,
    channel_id   TEXT NOT NULL,
    ts           TEXT NOT NULL,
    thread_ts    TEXT,
    user_id      TEXT,
    bot_id       TEXT,
    subtype      TEXT,
    text         TEXT NOT NULL,
    -- JSON array of the user ids the message mentions.
    mentions     TEXT NOT NULL DEFAULT '[]',
    posted_at    BIGINT NOT NULL,
    edited_at    BIGINT,
    reply_count  INTEGER NOT NULL DEFAULT 0,
    -- NULL while the message is live; 'deleted' (in Slack) or 'expired' (retention): text blanked,
    -- and a later replay, backfill or import never brings it back.
    removed      TEXT,
    -- 'event', 'backfill' or 'import'.
    source       TEXT NOT NULL,
    stored_at    BIGINT NOT NULL,
    PRIMARY KEY (team_id, channel_id, ts)
);
CREATE INDEX messages_window ON messages (team_id, posted_at);
CREATE INDEX messages_thread ON messages (team_id, channel_id, thread_ts);

CREATE TABLE reactions (
    team_id     TEXT NOT NULL,
    channel_id  TEXT NOT NULL,
    message_ts  TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    name        TEXT NOT NULL,
    reacted_at  BIGINT NOT NULL,
    PRIMARY KEY (team_id, channel_id, message_ts, user_id, name)
);

CREATE TABLE bus_events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    team_id     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    payload     TEXT NOT NULL,
    -- The message the event is about, if any: deleting a message deletes its events too.
    channel_id  TEXT,
    message_ts  TEXT,
    created_at  BIGINT NOT NULL
);
CREATE INDEX bus_events_kind ON bus_events (kind, id);
CREATE INDEX bus_events_team ON bus_events (team_id);
CREATE INDEX bus_events_message ON bus_events (team_id, channel_id, message_ts);

CREATE TABLE bus_cursors (
    subscriber   TEXT PRIMARY KEY,
    last_id      BIGINT NOT NULL DEFAULT 0,
    lease_owner  TEXT,
    lease_until  BIGINT,
    updated_at   BIGINT NOT NULL
);

CREATE TABLE backfill_jobs (
    team_id          TEXT NOT NULL,
    channel_id       TEXT NOT NULL,
    -- Window start (epoch seconds): history older than this is not fetched.
    oldest           BIGINT NOT NULL,
    -- 'pending', 'running', 'done' or 'failed'.
    status           TEXT NOT NULL,
    -- 'history' (paging conversations.history) then 'replies' (one thread at a time).
    phase            TEXT NOT NULL,
    cursor           TEXT,
    last_thread_ts   TEXT,
    messages         BIGINT NOT NULL DEFAULT 0,
    threads          BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL DEFAULT 0,
    lease_owner      TEXT,
    lease_until      BIGINT,
    last_error       TEXT,
    requested_at     BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    PRIMARY KEY (team_id, channel_id)
);
