-- Propositions: short AMR-like statements extracted from messages, linked to the messages they
-- come from (`message_ts` is the first source; `sources` lists them all, as JSON).
CREATE TABLE propositions (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    team_id     TEXT NOT NULL,
    channel_id  TEXT NOT NULL,
    message_ts  TEXT NOT NULL,
    posted_at   BIGINT NOT NULL,
    statement   TEXT NOT NULL,
    body        TEXT NOT NULL,
    sources     TEXT NOT NULL,
    entities    TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX propositions_message ON propositions (team_id, channel_id, message_ts);
CREATE INDEX propositions_window ON propositions (team_id, channel_id, posted_at);
