-- Requests Drawbridge passes to an upstream without deciding them
-- (resources/*, prompts/*, completion/complete) are recorded too, as
-- "bridged" events: a call whose arguments and answer the ledger keeps,
-- with no decision. The calls view shows them.
DROP VIEW calls;

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
WHERE s.kind IN ('decided', 'rejected', 'listed', 'bridged');
