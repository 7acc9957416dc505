-- Tool pins: the definition of each upstream tool an operator trusts, and
-- the one the upstream advertises now. They differ after a "rug pull".
CREATE TABLE pins (
    server      TEXT NOT NULL,
    tool        TEXT NOT NULL,
    pinned_hash TEXT,           -- SHA-256 of the trusted definition; NULL until accepted (strict mode)
    pinned_def  TEXT,           -- that definition, canonical JSON, for diffs
    seen_hash   TEXT NOT NULL,  -- the definition last advertised
    seen_def    TEXT NOT NULL,
    first_seen  TEXT NOT NULL,  -- RFC 3339 UTC
    changed_at  TEXT,           -- when seen last stopped matching pinned
    accepted_at TEXT,
    PRIMARY KEY (server, tool)
);
