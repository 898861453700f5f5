-- Plumbing shared by every service: the idempotent-consumer inbox and the transactional outbox.

CREATE TABLE IF NOT EXISTS lsg_inbox (
    consumer     text        NOT NULL,
    source       text        NOT NULL,
    event_id     text        NOT NULL,
    event_type   text        NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, source, event_id)
);

CREATE TABLE IF NOT EXISTS lsg_outbox (
    seq          bigserial   PRIMARY KEY,
    event_id     text        NOT NULL UNIQUE,
    event_type   text        NOT NULL,
    topic        text        NOT NULL,
    key          bytea       NOT NULL,
    value        bytea       NOT NULL,
    headers      jsonb       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    attempts     integer     NOT NULL DEFAULT 0,
    last_error   text
);

CREATE INDEX IF NOT EXISTS lsg_outbox_pending ON lsg_outbox (seq) WHERE published_at IS NULL;
