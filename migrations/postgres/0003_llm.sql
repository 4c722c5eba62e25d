-- The LLM gateway: answers cached by request hash, and one accounting row per gateway call.
CREATE TABLE llm_cache (
    cache_key          TEXT PRIMARY KEY,
    task               TEXT NOT NULL,
    model              TEXT NOT NULL,
    output             TEXT NOT NULL,
    prompt_tokens      BIGINT NOT NULL DEFAULT 0,
    completion_tokens  BIGINT NOT NULL DEFAULT 0,
    created_at         BIGINT NOT NULL,
    expires_at         BIGINT NOT NULL
);
CREATE INDEX llm_cache_expires ON llm_cache (expires_at);

CREATE TABLE llm_calls (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task               TEXT NOT NULL,
    team_id            TEXT,
    user_id            TEXT,
    deployment         TEXT,
    priority           TEXT NOT NULL,
    outcome            TEXT NOT NULL,
    cache_hit          INTEGER NOT NULL DEFAULT 0,
    attempts           INTEGER NOT NULL DEFAULT 0,
    prompt_tokens      BIGINT NOT NULL DEFAULT 0,
    completion_tokens  BIGINT NOT NULL DEFAULT 0,
    latency_ms         BIGINT NOT NULL DEFAULT 0,
    fallback_reason    TEXT,
    trail              TEXT NOT NULL DEFAULT '',
    day                TEXT NOT NULL,
    created_at         BIGINT NOT NULL
);
CREATE INDEX llm_calls_created ON llm_calls (created_at);
CREATE INDEX llm_calls_team_created ON llm_calls (team_id, created_at);
