-- A reader's messages of a window are read channel by channel (their memberships first, then each
-- channel's window): without this index the window of every channel was scanned for each reader.
CREATE INDEX messages_channel_window ON messages (team_id, channel_id, posted_at);
