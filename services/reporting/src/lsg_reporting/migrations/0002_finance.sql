-- Reporting, issue 27: the programme's money (budget versions, expenditure and its first-level control) and
-- the period reports that lock a period once approved.

-- A budget change is a new version (reason + who approved it); the highest version is in force.
CREATE TABLE IF NOT EXISTS budget_version (
    version      integer     PRIMARY KEY,
    reason       text        NOT NULL,
    approved_by  text        NOT NULL,
    co_financing numeric(12, 10) NOT NULL,  -- programme share (EUR 184,104 / 204,600)
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS budget_line (
    version      integer       NOT NULL REFERENCES budget_version (version),
    partner      text          NOT NULL,
    category     text          NOT NULL,
    work_package text          NOT NULL,
    amount       numeric(14, 2) NOT NULL CHECK (amount >= 0),
    PRIMARY KEY (version, partner, category, work_package)
);

-- Expenditure entries: never updated but for their verification; a correction is a new entry naming the
-- corrected one (each entry is corrected at most once: correct the correction to change it again).
CREATE TABLE IF NOT EXISTS expenditure (
    entry_id        text          PRIMARY KEY,
    partner         text          NOT NULL,
    category        text          NOT NULL,
    work_package    text          NOT NULL,
    activity        text,
    spent_on        date          NOT NULL,
    currency        text          NOT NULL,
    amount          numeric(14, 2) NOT NULL,
    rate            numeric(18, 8) NOT NULL,
    vat             numeric(14, 2) NOT NULL,
    vat_recoverable boolean       NOT NULL,
    amount_eur      numeric(14, 2) NOT NULL,
    vat_eur         numeric(14, 2) NOT NULL,
    invoice_ref     text          NOT NULL,
    description     jsonb         NOT NULL,     -- {"lv","ru","en"}
    evidence_ref    text          NOT NULL,
    corrects        text          UNIQUE REFERENCES expenditure (entry_id),
    period_id       text          NOT NULL,     -- the reporting period it is declared in
    recorded_by     text          NOT NULL,
    recorded_at     timestamptz   NOT NULL DEFAULT now(),
    event_id        text          NOT NULL,
    eligible_eur    numeric(14, 2),
    ineligible_eur  numeric(14, 2),
    verification_note text,
    verified_by     text,
    verified_at     timestamptz
);
CREATE INDEX IF NOT EXISTS expenditure_period ON expenditure (period_id);

-- One report per reporting period; an approved one keeps its frozen documents (returned byte for byte).
CREATE TABLE IF NOT EXISTS period_report (
    period_id       text        PRIMARY KEY,
    status          text        NOT NULL DEFAULT 'draft'
                                CHECK (status IN ('draft', 'submitted', 'in_verification', 'approved')),
    narrative       jsonb       NOT NULL DEFAULT '{}'::jsonb,   -- work package -> {"lv","ru","en"}
    history         jsonb       NOT NULL DEFAULT '[]'::jsonb,   -- [{action, by, at}]
    approved_at     timestamptz,
    snapshot_json   bytea,
    snapshot_xlsx   bytea,
    snapshot_pdf    bytea,
    snapshot_sha256 text,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
