-- The surveys service's own schema (shared inbox/outbox tables come from lsg_shared).

CREATE TABLE IF NOT EXISTS survey_campaigns (
    campaign_id    text        PRIMARY KEY,
    kind           text        NOT NULL CHECK (kind IN ('opinion_survey', 'focus_group', 'public_consultation', 'forum')),
    wave           integer     NOT NULL CHECK (wave >= 1),
    title          jsonb       NOT NULL,
    place          jsonb       NOT NULL,
    country        text        NOT NULL,
    municipality   text,
    planned_start  date        NOT NULL,
    planned_end    date        NOT NULL,
    target_size    integer     NOT NULL CHECK (target_size >= 0),
    status         text        NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'open', 'closed')),
    questions      jsonb       NOT NULL DEFAULT '[]',
    mappings       jsonb       NOT NULL DEFAULT '{}',
    settlements    jsonb       NOT NULL DEFAULT '[]',
    results        jsonb,                      -- the aggregates published at close (kept as published)
    created_by     text        NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    opened_at      timestamptz,
    closed_at      timestamptz
);

-- One row per response (its latest version). Personal columns (name, phone, free_text) are erasable;
-- the closed answers and the pseudonymous key are what the published aggregates were computed from.
CREATE TABLE IF NOT EXISTS survey_responses (
    response_id     uuid        PRIMARY KEY,
    campaign_id     text        NOT NULL REFERENCES survey_campaigns (campaign_id),
    respondent_key  text        NOT NULL,
    place           jsonb       NOT NULL,
    age_band        text        NOT NULL,
    gender          text        NOT NULL,
    answers         jsonb       NOT NULL,     -- closed answers only: question id -> value
    free_text       jsonb,                    -- personal: question id -> text
    respondent_name text,                     -- personal
    respondent_phone text,                    -- personal
    source          text        NOT NULL,
    version         integer     NOT NULL DEFAULT 1,
    submitted_at    timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    corrected_at    timestamptz,
    erased_at       timestamptz,
    recorded_by     text        NOT NULL
);
CREATE INDEX IF NOT EXISTS survey_responses_campaign ON survey_responses (campaign_id);
CREATE INDEX IF NOT EXISTS survey_responses_key ON survey_responses (respondent_key);

-- Every submission id ever seen (versions and roots): a repeat is a no-op, a known root or deprecated id
-- marks an edit. Kept after erasure (ids are the client's random uuids, not personal data).
CREATE TABLE IF NOT EXISTS survey_submissions (
    campaign_id    text        NOT NULL REFERENCES survey_campaigns (campaign_id),
    submission_id  text        NOT NULL,
    response_id    uuid        NOT NULL REFERENCES survey_responses (response_id) DEFERRABLE INITIALLY DEFERRED,
    received_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (campaign_id, submission_id)
);

CREATE TABLE IF NOT EXISTS survey_gatherings (
    gathering_id   text        PRIMARY KEY,
    campaign_id    text        NOT NULL REFERENCES survey_campaigns (campaign_id),
    held_on        date        NOT NULL,
    title          jsonb,
    place          jsonb       NOT NULL,
    participants   integer     NOT NULL CHECK (participants >= 0),
    breakdown      jsonb       NOT NULL DEFAULT '[]',
    settlements    jsonb       NOT NULL DEFAULT '[]',
    problems       jsonb       NOT NULL DEFAULT '[]',   -- short texts with their language; stay in the service
    initiatives    jsonb       NOT NULL DEFAULT '[]',
    recorded_by    text        NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS survey_gatherings_campaign ON survey_gatherings (campaign_id);

-- Erasure requests carried out (what was erased and when; no personal data).
CREATE TABLE IF NOT EXISTS survey_erasures (
    erasure_id     uuid        PRIMARY KEY,
    requested_by   text        NOT NULL,
    responses      integer     NOT NULL,
    erased_at      timestamptz NOT NULL DEFAULT now()
);
