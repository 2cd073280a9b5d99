-- Client secrets (by hash) and live WebRTC calls, shared by every instance.
CREATE TABLE client_secrets (
    secret_hash TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL,
    session TEXT NOT NULL,
    session_id TEXT,
    resume_token_hash TEXT,
    created_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX client_secrets_by_expiry ON client_secrets (expires_at);

CREATE TABLE calls (
    call_id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    instance TEXT NOT NULL,
    address TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
);
