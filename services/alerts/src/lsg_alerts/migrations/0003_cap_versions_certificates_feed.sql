-- Issue 24: which CAP version a message arrived in (normalised to 1.2), partners' signing certificates (XML
-- signatures on CAP), and the suite's public CAP feed (partners allowed to publish).
ALTER TABLE alerts ADD COLUMN cap_version text;
ALTER TABLE cap_messages ADD COLUMN cap_version text;
ALTER TABLE partners ADD COLUMN publish boolean NOT NULL DEFAULT false;

-- X.509 certificates a partner signs CAP with, Fernet-encrypted like the secrets; several active (rotation),
-- the oldest retired beyond two.
CREATE TABLE partner_certificates (
    certificate_id text        PRIMARY KEY,
    partner_id     text        NOT NULL REFERENCES partners (partner_id),
    ciphertext     bytea       NOT NULL,
    fingerprint    text        NOT NULL,   -- SHA-256 of the DER, hex
    subject        text        NOT NULL,
    not_after      timestamptz NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    retired_at     timestamptz
);
CREATE INDEX partner_certificates_active ON partner_certificates (partner_id) WHERE retired_at IS NULL;

-- The feed reads Actual, non-drill partner alerts by recency.
CREATE INDEX alerts_public_feed ON alerts (updated_at DESC) WHERE cap_status = 'Actual' AND NOT drill;
