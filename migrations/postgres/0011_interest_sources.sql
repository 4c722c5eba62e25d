-- Which messages each learned interest (topic or entity) came from, so that deleting a message
-- deletes the interests only it supported (db::profile::forget_interest_sources_in). `display`
-- is the form this message gave the key: a surviving interest takes its display from a message
-- that still exists.
CREATE TABLE interest_sources (
    team_id    TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    key        TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    message_ts TEXT NOT NULL,
    display    TEXT NOT NULL,
    at         BIGINT NOT NULL,
    PRIMARY KEY (team_id, user_id, key, channel_id, message_ts)
);
CREATE INDEX interest_sources_message ON interest_sources (team_id, channel_id, message_ts);
