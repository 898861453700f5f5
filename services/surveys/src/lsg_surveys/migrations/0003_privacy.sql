-- Issue 30: erasure by the fan-out event, access, retention and residency of respondents' personal data.
--
-- respondent_ref: the external respondent id a response gave (panel or register id), personal like the name and
-- phone: kept so an erasure or access request's `ref:` subject token can find the respondent; erased with them.
-- residence: NULL when the response's personal fields (name, phone, ref, free text) are in this table, as before;
-- 'LV' or 'RU' when they are in that country's personal database (LSG_SURVEYS_PERSONAL_DATABASE_URL_<COUNTRY>).
ALTER TABLE survey_responses ADD COLUMN IF NOT EXISTS respondent_ref text;
ALTER TABLE survey_responses ADD COLUMN IF NOT EXISTS residence text CHECK (residence IN ('LV', 'RU'));

-- That an erasure by request id took place (the fan-out event, the privacy route, the retention job), never what
-- or whom it erased: the request id, how it came, when, counts. (The older POST /v1/erasure-requests keeps
-- writing survey_erasures.)
CREATE TABLE IF NOT EXISTS survey_privacy_erasures (
    request_id  text        PRIMARY KEY,
    requested   text        NOT NULL CHECK (requested IN ('event', 'api', 'retention')),
    erased_at   timestamptz NOT NULL DEFAULT now(),
    counts      jsonb       NOT NULL DEFAULT '{}'::jsonb
);
