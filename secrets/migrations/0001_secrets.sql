-- Credentials, encrypted. Each value is sealed with AES-256-GCM under the
-- master key, with a fresh nonce, and with its name and client scope as
-- associated data: a ciphertext moved to another row does not decrypt.
CREATE TABLE secrets (
    name       TEXT NOT NULL,
    client     TEXT NOT NULL DEFAULT '',  -- '' = every client; else only calls from this client token
    nonce      BLOB NOT NULL,
    sealed     BLOB NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (name, client)
);

-- A known value sealed under the master key: opening with another key fails
-- here, clearly, instead of yielding garbage later.
CREATE TABLE key_check (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    nonce  BLOB NOT NULL,
    sealed BLOB NOT NULL
);
