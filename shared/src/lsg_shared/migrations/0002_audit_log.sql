-- The audit log (lsg_shared.audit): who did what, when, from where, in this service's database.
-- Never a request body, a secret, a token, a query string or a survey answer: only ids and metadata.

CREATE TABLE IF NOT EXISTS lsg_audit_log (
    id             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at    timestamptz NOT NULL,
    service        text        NOT NULL,
    -- request: one row per audited HTTP request (written by the middleware, refusals included);
    -- change:  a domain change written in the same transaction as the change itself (partner created...)
    kind           text        NOT NULL CHECK (kind IN ('request', 'change')),
    subject        text,
    auth           text        NOT NULL
                   CHECK (auth IN ('oidc', 'static', 'partner', 'anonymous', 'invalid', 'operator', 'system')),
    roles          text[]      NOT NULL DEFAULT '{}',
    countries      text[]      NOT NULL DEFAULT '{}',
    municipalities text[]      NOT NULL DEFAULT '{}',
    action         text        NOT NULL,
    resource       jsonb       NOT NULL DEFAULT '{}',
    detail         jsonb,
    status         smallint,
    client_addr    text,
    proxy_addr     text,
    request_id     text,
    trace_id       text,
    user_agent     text
);

CREATE INDEX IF NOT EXISTS lsg_audit_log_occurred ON lsg_audit_log (occurred_at);
CREATE INDEX IF NOT EXISTS lsg_audit_log_subject ON lsg_audit_log (subject, occurred_at);
