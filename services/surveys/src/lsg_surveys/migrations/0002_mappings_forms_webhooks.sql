-- Issue 25: value mappings kept as versioned data, the imports that used them, the campaign's XLSForm,
-- the Kobo REST-service webhook secret, and the age range a form asked (published when it is not a suite band).

ALTER TABLE survey_campaigns ADD COLUMN IF NOT EXISTS form jsonb;               -- the uploaded XLSForm's summary
ALTER TABLE survey_campaigns ADD COLUMN IF NOT EXISTS questionnaire_from text NOT NULL DEFAULT 'api'
    CHECK (questionnaire_from IN ('api', 'xlsform'));
ALTER TABLE survey_responses ADD COLUMN IF NOT EXISTS age_range text;
ALTER TABLE survey_responses ADD COLUMN IF NOT EXISTS mapping_version integer;   -- null: API or version 0

-- Every version of a campaign's import mappings (version 0 is the creation-time `mappings`, never stored here).
CREATE TABLE IF NOT EXISTS survey_mapping_versions (
    campaign_id  text        NOT NULL REFERENCES survey_campaigns (campaign_id),
    version      integer     NOT NULL CHECK (version >= 1),
    mappings     jsonb       NOT NULL,
    origin       text        NOT NULL CHECK (origin IN ('api', 'xlsform')),
    created_by   text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (campaign_id, version)
);

-- Each import (file or webhook submission): which mapping version read it and what became of its rows.
CREATE TABLE IF NOT EXISTS survey_imports (
    import_id       uuid        PRIMARY KEY,
    campaign_id     text        NOT NULL REFERENCES survey_campaigns (campaign_id),
    source          text        NOT NULL,          -- kobo, odk, kobo-webhook
    mapping_version integer     NOT NULL,          -- 0: the creation-time mappings
    received        integer     NOT NULL,
    recorded        integer     NOT NULL,
    corrected       integer     NOT NULL,
    duplicates      integer     NOT NULL,
    skipped         integer     NOT NULL,
    rejected        integer     NOT NULL,
    imported_by     text        NOT NULL,
    imported_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS survey_imports_campaign ON survey_imports (campaign_id, imported_at);

-- The secret of a campaign's Kobo REST-service webhook (SHA-256 of it; the secret itself is shown once).
CREATE TABLE IF NOT EXISTS survey_webhooks (
    campaign_id  text        PRIMARY KEY REFERENCES survey_campaigns (campaign_id),
    secret_sha256 text       NOT NULL,
    created_by   text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
