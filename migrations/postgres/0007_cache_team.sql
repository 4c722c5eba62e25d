-- Cached model answers hold workspace content: remember whose, so uninstall and message deletion
-- can remove them.
ALTER TABLE llm_cache ADD COLUMN team_id TEXT;
CREATE INDEX llm_cache_team ON llm_cache (team_id, created_at);
