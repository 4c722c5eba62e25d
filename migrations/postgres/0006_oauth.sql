-- One-time `state` values of OAuth installs in progress (CSRF protection).
CREATE TABLE oauth_states (
    state       TEXT PRIMARY KEY,
    created_at  BIGINT NOT NULL
);
