-- A call refused without going upstream has no completed event: its
-- decided event holds the outcome, and is written when it was decided,
-- with the time the call arrived. Its end is that time plus its duration
-- (to the millisecond), not its arrival: a call an operator denied after
-- ten minutes ended then.
DROP VIEW calls;

-- One row per call: its decision and, when it went upstream, its outcome.
CREATE VIEW calls AS
SELECT
    s.call_id                                  AS call_id,
    s.at                                       AS started_at,
    COALESCE(c.at, CASE WHEN s.status IS NOT NULL THEN CASE WHEN s.duration_ms IS NULL THEN s.at
        ELSE strftime('%Y-%m-%dT%H:%M:%fZ', s.at, printf('+%.3f seconds', s.duration_ms / 1000.0)) END END) AS ended_at,
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
