-- Prune anchors are authenticated with the ledger key: an anchor inserted
-- by someone without it (after deleting a prefix of the chain) is refused
-- by verify.
ALTER TABLE anchors ADD COLUMN mac TEXT;
