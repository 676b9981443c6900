-- Accounts, groups, permissions, DICOM nodes with per-group access, API tokens.
-- Time stamps are TIMESTAMPTZ; node specs are the serde JSON of adit_core::model::Node.

CREATE TABLE groups (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name    TEXT NOT NULL UNIQUE CHECK (name <> ''),
    created TIMESTAMPTZ NOT NULL
);

CREATE TABLE users (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username        TEXT NOT NULL UNIQUE CHECK (username <> ''),
    password_hash   TEXT NOT NULL,
    email           TEXT NOT NULL DEFAULT '',
    is_staff        BOOLEAN NOT NULL DEFAULT FALSE,
    is_superuser    BOOLEAN NOT NULL DEFAULT FALSE,
    is_active       BOOLEAN NOT NULL DEFAULT TRUE,
    active_group_id BIGINT REFERENCES groups (id) ON DELETE SET NULL,
    created         TIMESTAMPTZ NOT NULL
);

CREATE TABLE group_members (
    group_id BIGINT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id  BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id);

CREATE TABLE group_permissions (
    group_id BIGINT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    codename TEXT NOT NULL,
    PRIMARY KEY (group_id, codename)
);

CREATE TABLE nodes (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name     TEXT NOT NULL UNIQUE CHECK (name <> ''),
    kind     TEXT NOT NULL CHECK (kind IN ('dimse', 'dicomweb', 'folder')),
    ae_title TEXT UNIQUE,
    spec     JSONB NOT NULL,
    created  TIMESTAMPTZ NOT NULL
);

CREATE TABLE node_access (
    group_id    BIGINT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    node_id     BIGINT NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    source      BOOLEAN NOT NULL DEFAULT FALSE,
    destination BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (group_id, node_id)
);
CREATE INDEX node_access_node ON node_access (node_id);

CREATE TABLE api_tokens (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_sha256 TEXT NOT NULL UNIQUE CHECK (length(token_sha256) = 64),
    fraction     TEXT NOT NULL,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    description  TEXT NOT NULL DEFAULT '',
    created      TIMESTAMPTZ NOT NULL,
    expires      TIMESTAMPTZ,
    last_used    TIMESTAMPTZ
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);
