-- Client tokens. Only the SHA-256 of a token is kept; the token itself is
-- printed once, at creation.
CREATE TABLE tokens (
    name       TEXT PRIMARY KEY,
    hash       TEXT NOT NULL UNIQUE,  -- hex SHA-256 of the token
    servers    TEXT NOT NULL DEFAULT '[]', -- JSON array of labels; empty = all
    created_at TEXT NOT NULL,         -- RFC 3339 UTC
    expires_at TEXT                   -- RFC 3339 UTC, NULL = never
);
