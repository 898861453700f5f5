-- Issue 26: reach a person. Contacts (personal data encrypted at rest), their place on the escalation ladder
-- through on-call rotas with overrides, and the notifications outbox with every attempt recorded.

-- A person who may be notified. Name, e-mail addresses, webhook URLs and phone numbers are sealed (Fernet, the
-- partner-secret key) in `sealed`; only the language, the drill opt-in and the channel kinds are in clear.
CREATE TABLE contacts (
    contact_id     uuid        PRIMARY KEY,
    sealed         bytea,                              -- NULL once erased
    language       text        NOT NULL,               -- lv | ru | en
    drills         boolean     NOT NULL DEFAULT false, -- notified of Test/Exercise alerts
    channel_kinds  text[]      NOT NULL DEFAULT '{}',  -- in order: email | webhook
    country        text        NOT NULL,
    municipality_code text,                            -- the municipality that registered the person (scope)
    created_at     timestamptz NOT NULL DEFAULT now(),
    erased_at      timestamptz
);

-- An on-call rota: for one ladder level over one area (a settlement, territory, municipality or country code),
-- its members take turns of `shift_s` seconds from `starts_at` (the hand-over times), in order.
CREATE TABLE rotas (
    rota_id        uuid        PRIMARY KEY,
    level          text        NOT NULL,               -- settlement_elder | municipality | regional_duty_service
    area_code      text        NOT NULL,
    country        text        NOT NULL,
    municipality_code text,
    starts_at      timestamptz NOT NULL,
    shift_s        integer     NOT NULL CHECK (shift_s > 0),
    members        uuid[]      NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rotas_lookup ON rotas (level, area_code);

-- Holiday cover: `contact_id` holds the rota over [starts_at, ends_at).
CREATE TABLE rota_overrides (
    override_id    uuid        PRIMARY KEY,
    rota_id        uuid        NOT NULL REFERENCES rotas (rota_id) ON DELETE CASCADE,
    contact_id     uuid        NOT NULL REFERENCES contacts (contact_id),
    starts_at      timestamptz NOT NULL,
    ends_at        timestamptz NOT NULL CHECK (ends_at > starts_at)
);
CREATE INDEX rota_overrides_rota ON rota_overrides (rota_id, starts_at);

-- A page: "reach the on-call person of this level for this alert". Written in the transaction (or the one
-- statement) that raises or escalates the alert, so no page is ever lost; the sender expands it.
CREATE TABLE pages (
    page_id        bigserial   PRIMARY KEY,
    alert_id       uuid        NOT NULL REFERENCES alerts (alert_id),
    level          text        NOT NULL,
    drill          boolean     NOT NULL,
    created_at     timestamptz NOT NULL,
    state          text        NOT NULL DEFAULT 'pending',   -- pending | expanded | unreachable | stopped
    candidates     uuid[],                                   -- the people on call, in order, when expanded
    candidate      integer     NOT NULL DEFAULT 0
);
CREATE INDEX pages_pending ON pages (page_id) WHERE state = 'pending';
CREATE INDEX pages_alert ON pages (alert_id);

-- One message to one contact on one channel; retried with backoff, then the next channel, then the next person.
CREATE TABLE notifications (
    notification_id uuid       PRIMARY KEY,
    page_id        bigint      NOT NULL REFERENCES pages (page_id),
    alert_id       uuid        NOT NULL REFERENCES alerts (alert_id),
    contact_id     uuid        NOT NULL REFERENCES contacts (contact_id),
    level          text        NOT NULL,
    channel_index  integer     NOT NULL DEFAULT 0,
    channel        text        NOT NULL,
    attempts       integer     NOT NULL DEFAULT 0,           -- on the current channel
    state          text        NOT NULL DEFAULT 'pending',   -- pending | sent | failed | stopped
    next_attempt_at timestamptz NOT NULL,
    created_at     timestamptz NOT NULL,
    sent_at        timestamptz,
    ack_used_at    timestamptz                               -- its acknowledgement link was used
);
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE state = 'pending';
CREATE INDEX notifications_alert ON notifications (alert_id);

-- Every attempt, successful or not (no addresses: the contact id and the channel kind).
CREATE TABLE notification_attempts (
    notification_id uuid       NOT NULL REFERENCES notifications (notification_id),
    at             timestamptz NOT NULL,
    channel        text        NOT NULL,
    channel_index  integer     NOT NULL,
    attempt        integer     NOT NULL,
    ok             boolean     NOT NULL,
    reason         text
);
CREATE INDEX notification_attempts_notification ON notification_attempts (notification_id, at);
