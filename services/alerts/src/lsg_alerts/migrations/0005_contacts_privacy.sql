-- Issue 30: alert contacts' residency, erasure records and retention.

-- The country whose personal database holds the contact's sealed part (`sealed` is then NULL here); NULL: the
-- main database holds it (no personal database configured for the country when the contact was registered).
ALTER TABLE contacts ADD COLUMN residence text;

-- Every erasure (a person.erasure_requested, the admin route, the retention job), recorded without what it erased:
-- the request id, how it came, when, counts. No contact id, no name.
CREATE TABLE contact_privacy_erasures (
    request_id  text        PRIMARY KEY,
    requested   text        NOT NULL,               -- event | api | retention
    at          timestamptz NOT NULL DEFAULT now(),
    counts      jsonb       NOT NULL
);
