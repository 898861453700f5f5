-- Reporting: the indicator catalogue, per-event contributions (facts) and what was published.

-- The catalogue, loaded from the YAML shipped with the service (or ops' own) at every start.
CREATE TABLE IF NOT EXISTS indicator (
    code        text        PRIMARY KEY,
    grp         text        NOT NULL,
    title       jsonb       NOT NULL,           -- {"lv","ru","en"}
    measure     text        NOT NULL,
    unit        text        NOT NULL,
    target      double precision,
    definition  jsonb       NOT NULL,           -- the whole catalogue entry, feeds included
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- One row per event and indicator (or per breakdown cell): figures are computed from these by query.
-- A later fact with the same (code, corr_key) supersedes an earlier one by priority, then event identity:
-- a correction keeps both rows, so a figure "as of" an earlier date is a filter on valid_from.
CREATE TABLE IF NOT EXISTS fact (
    source       text             NOT NULL,
    event_id     text             NOT NULL,
    event_type   text             NOT NULL,
    code         text             NOT NULL,
    corr_key     text             NOT NULL,
    priority     double precision NOT NULL,
    event_time   timestamptz      NOT NULL,     -- places the fact in a period (late events land right)
    valid_from   timestamptz      NOT NULL,     -- when the fact became known (corrections: corrected_at)
    recorded_at  timestamptz      NOT NULL DEFAULT now(),
    country      text,
    municipality text,
    territory    text,
    settlement   text,
    role         text,
    gender       text,
    wave         integer,
    tag          text,
    num          double precision NOT NULL,
    den          double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS fact_code_key ON fact (code, corr_key);

-- Names of the areas seen in events (codes identify; names are for people), lv/ru/en.
CREATE TABLE IF NOT EXISTS area (
    level   text  NOT NULL,
    code    text  NOT NULL,
    parent  text,
    name    jsonb NOT NULL,
    PRIMARY KEY (level, code)
);

-- Deliverables recorded through the API; the event goes out through the outbox in the same transaction.
CREATE TABLE IF NOT EXISTS deliverable (
    deliverable_id text        PRIMARY KEY,
    kind           text        NOT NULL,
    quantity       integer     NOT NULL,
    language       text        NOT NULL,
    recorded_on    date        NOT NULL,
    evidence_url   text,
    place          jsonb,
    recorded_by    text        NOT NULL,
    event_id       text        NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- Indicators touched by consumed batches whose figures are still to be published as indicator.updated.
-- `version` grows with every touching batch, so a publication run clears only what it has published.
CREATE TABLE IF NOT EXISTS dirty_indicator (
    code    text   PRIMARY KEY,
    version bigint NOT NULL DEFAULT 1
);

-- The last published value of each figure (what the compacted topic holds), to publish only changes.
CREATE TABLE IF NOT EXISTS emitted_figure (
    code        text             NOT NULL,
    period      text             NOT NULL,
    area_level  text             NOT NULL,
    area_code   text             NOT NULL,
    num         double precision NOT NULL,
    den         double precision NOT NULL,
    emitted_at  timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (code, period, area_level, area_code)
);

CREATE TABLE IF NOT EXISTS rebuild_run (
    id          text        PRIMARY KEY,
    status      text        NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    events      bigint      NOT NULL DEFAULT 0,
    facts       bigint      NOT NULL DEFAULT 0,
    copied_live bigint      NOT NULL DEFAULT 0,
    error       text
);
