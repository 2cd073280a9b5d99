-- A client secret minted to resume a session resumes it wherever it is used: a WebRTC
-- client posts its offer with the secret alone, as it does to the hosted API.
ALTER TABLE client_secrets ADD COLUMN resumes INTEGER NOT NULL DEFAULT 0;

-- Each item's audio (PCM16 mono, 24 kHz), kept only when the server runs with
-- --store-audio: the user's as committed, the assistant's as sent (cut where truncated).
CREATE TABLE item_audio (
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    item_id TEXT NOT NULL,
    audio BYTEA NOT NULL,
    saved_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (session_id, item_id)
);
