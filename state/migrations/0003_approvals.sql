-- Calls a policy held for a person's approval, and the grants approvals
-- leave behind. A grant covers one client calling one tool of one server
-- with the same arguments (canonical JSON hash), until it expires.
CREATE TABLE approvals (
    id          TEXT PRIMARY KEY,     -- apr_…
    client      TEXT NOT NULL,
    server      TEXT NOT NULL,
    tool        TEXT NOT NULL,
    arguments   TEXT NOT NULL,        -- redacted as the ledger redacts
    args_hash   TEXT NOT NULL,
    reason      TEXT NOT NULL,        -- the policy's
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    status      TEXT NOT NULL,        -- pending | approved | denied | expired
    decided_by  TEXT,
    decided_at  TEXT,
    note        TEXT                  -- the operator's reason for a denial
);

CREATE TABLE grants (
    client      TEXT NOT NULL,
    server      TEXT NOT NULL,
    tool        TEXT NOT NULL,
    args_hash   TEXT NOT NULL,
    approval_id TEXT NOT NULL,
    approved_by TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    PRIMARY KEY (client, server, tool, args_hash)
);
