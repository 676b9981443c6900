-- Browser sessions (POST /login/): only the SHA-256 (hex) of the random session id is stored,
-- with the CSRF token the session's state-changing requests must echo in X-CSRFToken.
-- Time stamps are TIMESTAMPTZ.

CREATE TABLE sessions (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key_sha256   TEXT NOT NULL UNIQUE CHECK (length(key_sha256) = 64),
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token   TEXT NOT NULL CHECK (length(csrf_token) = 64),
    created      TIMESTAMPTZ NOT NULL,
    expires      TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
