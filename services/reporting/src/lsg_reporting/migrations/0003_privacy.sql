-- Issue 30: the logins reporting stores as who did what (budget_version.approved_by, expenditure.recorded_by and
-- verified_by, deliverable.recorded_by, period_report.history[].by) are user identities. An erasure request or
-- the retention job replaces a login there with a random pseudonym ('erased-' + 12 hex digits, one per person
-- and run): what was done, when and by the same hand stays; who does not. Approved period documents never carry
-- the login (their history lists action and time only), so they stay byte for byte.

-- That an erasure took place, never what or whom it erased: the request id, how it came, when, counts.
CREATE TABLE IF NOT EXISTS reporting_privacy_erasures (
    request_id  text        PRIMARY KEY,
    requested   text        NOT NULL CHECK (requested IN ('event', 'api', 'retention')),
    erased_at   timestamptz NOT NULL DEFAULT now(),
    counts      jsonb       NOT NULL DEFAULT '{}'::jsonb
);
