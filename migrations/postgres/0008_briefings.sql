-- The personal daily briefing (see notes/briefing.md): prepared briefings and their delivery,
-- the shared channel digests every reader reuses, where each interest came from, and the
-- workspace URL permalinks are built with.

-- One briefing per (team, user, local date, edition). edition '' is the daily briefing; '/chief
-- briefing' asks for extra editions 'now:1', 'now:2'… of the same day.
-- status: prepared (ready, not sent), delivering (claimed by one sender), delivered, skipped
-- (not sent, with skip_reason), unknown (the sender stopped between posting and recording it:
-- never re-sent, see delivery.rs).
CREATE TABLE briefings (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    team_id      TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    local_date   TEXT NOT NULL,
    edition      TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL,
    briefing     TEXT NOT NULL,
    verdict      TEXT,
    run_id       BIGINT,
    window_start BIGINT NOT NULL,
    window_end   BIGINT NOT NULL,
    dm_channel   TEXT,
    message_ts   TEXT,
    skip_reason  TEXT,
    -- story id -> the acknowledgement shown in place of its buttons after feedback (JSON object)
    acks         TEXT NOT NULL DEFAULT '{}',
    claimed_by   TEXT,
    claimed_at   BIGINT,
    prepared_at  BIGINT NOT NULL,
    delivered_at BIGINT,
    updated_at   BIGINT NOT NULL,
    UNIQUE (team_id, user_id, local_date, edition)
);
CREATE INDEX briefings_latest ON briefings (team_id, user_id, prepared_at);

-- A channel's window summarised once, discussion by discussion, for every reader of the channel.
-- content_hash covers the exact messages summarised: a reader whose visible messages hash the
-- same reuses the row; a late or edited message makes a new one.
CREATE TABLE briefing_digests (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    team_id      TEXT NOT NULL,
    channel_id   TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    window_end   BIGINT NOT NULL,
    content_hash TEXT NOT NULL,
    messages     BIGINT NOT NULL,
    summaries    TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    UNIQUE (team_id, channel_id, window_start, window_end, content_hash)
);

-- Which messages a digest was made from: deleting or expiring one of them deletes the digest
-- (trigger below), so no summary outlives its messages.
CREATE TABLE briefing_digest_messages (
    team_id    TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    message_ts TEXT NOT NULL,
    digest_id  BIGINT NOT NULL,
    PRIMARY KEY (digest_id, message_ts)
);
CREATE INDEX briefing_digest_messages_by_message
    ON briefing_digest_messages (team_id, channel_id, message_ts);

CREATE FUNCTION briefing_digest_message_deleted() RETURNS trigger AS $$
BEGIN
    DELETE FROM briefing_digests WHERE id = OLD.digest_id;
    RETURN OLD;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER briefing_digest_message_deleted AFTER DELETE ON briefing_digest_messages
    FOR EACH ROW EXECUTE FUNCTION briefing_digest_message_deleted();

-- Where the user's interest in a topic last came from (reacted, wrote, feedback…), for the
-- "why you see this" line. Keys are interest::normalize_key forms.
CREATE TABLE briefing_interest_origins (
    team_id    TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    key        TEXT NOT NULL,
    origin     TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (team_id, user_id, key)
);

-- The workspace's URL (auth.test `url`), the base of message permalinks.
CREATE TABLE briefing_workspaces (
    team_id    TEXT PRIMARY KEY,
    url        TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
