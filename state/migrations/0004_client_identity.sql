-- Grants are keyed by the client token's identity, not its name: a new
-- token created with a revoked token's name must not inherit its grants.
-- client_id is "tok_" and the first 16 hex digits of the token's hash
-- (empty under auth: none, where the name "anonymous" is the key).
ALTER TABLE approvals ADD COLUMN client_id TEXT NOT NULL DEFAULT '';
-- Grants written before this migration were keyed by name: they expire
-- within grant_ttl and are not carried over.
DELETE FROM grants;
