-- The ledger. Every row is one event; a call is a "decided" event (written
-- and committed before the upstream is called) and, when the call went
-- upstream, a "completed" event. Each row carries the SHA-256 chain: hash =
-- sha256(prev_hash || canonical content), so `drawbridge audit verify` finds
-- any altered, inserted or deleted row.
CREATE TABLE events (
    seq              INTEGER PRIMARY KEY,  -- order of the chain
    at               TEXT NOT NULL,        -- RFC 3339 UTC, nanoseconds
    kind             TEXT NOT NULL,        -- decided | completed | rejected | listed
    call_id          TEXT,
    request_id       TEXT,
    client           TEXT,
    server           TEXT,
    method           TEXT,
    tool             TEXT,
    arguments        TEXT,                 -- JSON, redacted
    decision         TEXT,                 -- allow | deny | approve
    reason           TEXT,
    policy_mode      TEXT,                 -- enforce | shadow
    policy_us        INTEGER,
    approval_id      TEXT,
    approved_by      TEXT,
    status           TEXT,                 -- ok | tool_error | denied | approval_timeout | upstream_error | timeout | cancelled | bad_request | unauthenticated
    error            TEXT,
    result           TEXT,                 -- JSON, redacted, cut at audit.max_result_bytes
    upstream_ms      INTEGER,
    duration_ms      INTEGER,
    protocol_version TEXT,
    session_id       TEXT,
    remote_addr      TEXT,
    prev_hash        TEXT NOT NULL,
    hash             TEXT NOT NULL
);

-- Two indexes, each paid for on every write (a third, on (server, tool),
-- cut the writer from 56k to 37k events/s): call_id joins a call's events
-- (the calls view, audit show); at serves every time-bounded query and
-- pruning. Per-server, per-tool, per-client questions are aggregates that
-- read the rows of a time range anyway.
CREATE INDEX events_call ON events (call_id);
CREATE INDEX events_at ON events (at);

-- Where the chain starts after pruning: the hash the first kept row's
-- prev_hash must equal.
CREATE TABLE anchors (
    id          INTEGER PRIMARY KEY,
    first_seq   INTEGER NOT NULL,
    prev_hash   TEXT NOT NULL,
    pruned_rows INTEGER NOT NULL,
    pruned_at   TEXT NOT NULL
);

-- Append-only. A row may be deleted only by pruning, which holds the
-- permit below inside its own transaction. (Triggers stop mistakes, not a
-- determined editor: the hash chain is what catches that.)
CREATE TABLE prune_permit (one INTEGER PRIMARY KEY CHECK (one = 1));

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;

CREATE TRIGGER events_no_delete BEFORE DELETE ON events
WHEN NOT EXISTS (SELECT 1 FROM prune_permit)
BEGIN SELECT RAISE(ABORT, 'audit events are append-only; use drawbridge audit prune'); END;

-- One row per call: its decision and, when it went upstream, its outcome.
CREATE VIEW calls AS
SELECT
    s.call_id                                  AS call_id,
    s.at                                       AS started_at,
    COALESCE(c.at, CASE WHEN s.status IS NOT NULL THEN s.at END) AS ended_at,
    s.client                                   AS client,
    s.server                                   AS server,
    s.method                                   AS method,
    s.tool                                     AS tool,
    s.arguments                                AS arguments,
    s.decision                                 AS decision,
    s.reason                                   AS reason,
    s.policy_mode                              AS policy_mode,
    COALESCE(c.approval_id, s.approval_id)     AS approval_id,
    COALESCE(c.approved_by, s.approved_by)     AS approved_by,
    COALESCE(c.status, s.status)               AS status,
    COALESCE(c.error, s.error)                 AS error,
    COALESCE(c.result, s.result)               AS result,
    COALESCE(c.duration_ms, s.duration_ms)     AS duration_ms,
    c.upstream_ms                              AS upstream_ms,
    s.policy_us                                AS policy_us,
    s.protocol_version                         AS protocol_version,
    s.session_id                               AS session_id,
    s.request_id                               AS request_id,
    s.remote_addr                              AS remote_addr
FROM events s
LEFT JOIN events c ON c.kind = 'completed' AND c.call_id = s.call_id
WHERE s.kind IN ('decided', 'rejected', 'listed');
