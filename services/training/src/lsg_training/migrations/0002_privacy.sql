-- Issue 30: erasure, access, retention and residency of participants' personal data.
--
-- residence: NULL when the participant's personal fields (ref, identity, full_name, email, phone, organisation)
-- are in this table, as before; 'LV' or 'RU' when they are in that country's personal database
-- (LSG_TRAINING_PERSONAL_DATABASE_URL_<COUNTRY>), and this row holds only keyed hashes of ref and identity.
-- erased_at: when the personal fields were erased (request or retention); the pseudonymous facts stay.
ALTER TABLE participants ADD COLUMN residence text CHECK (residence IN ('LV', 'RU'));
ALTER TABLE participants ADD COLUMN erased_at timestamptz;

-- That an erasure took place, never what or whom it erased: the request id, how it came, when, counts.
CREATE TABLE privacy_erasures (
    request_id  text        PRIMARY KEY,
    requested   text        NOT NULL CHECK (requested IN ('event', 'api', 'retention')),
    erased_at   timestamptz NOT NULL DEFAULT now(),
    counts      jsonb       NOT NULL DEFAULT '{}'::jsonb
);
