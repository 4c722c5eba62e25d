-- Typed propositions (issue 15): the kind (request, commitment, decision, blocker, question,
-- answer, status, fyi) as a column, for look-ups such as "open requests to this person";
-- the whole typed proposition stays in `body`.
ALTER TABLE propositions ADD COLUMN kind TEXT NOT NULL DEFAULT 'fyi';
CREATE INDEX propositions_kind ON propositions (team_id, kind, posted_at);

-- Which messages have been through extraction, and in which version (a hash of the text the
-- propositions were made from): a message that stated nothing has no propositions but must not
-- be extracted again, and an edited one must be.
CREATE TABLE proposition_marks (
    team_id      TEXT NOT NULL,
    channel_id   TEXT NOT NULL,
    message_ts   TEXT NOT NULL,
    text_hash    TEXT NOT NULL,
    extracted_at BIGINT NOT NULL,
    PRIMARY KEY (team_id, channel_id, message_ts)
);
