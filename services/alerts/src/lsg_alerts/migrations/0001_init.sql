-- The alerts service's schema: partners and their secrets, devices and their supervision, CAP messages
-- and the alert lifecycle (with stored escalation deadlines, so they survive a restart).

CREATE TABLE partners (
    partner_id  text        PRIMARY KEY,
    label       jsonb,                      -- lv/ru/en display name (an organisation, not a person)
    kind        text        NOT NULL DEFAULT 'vendor',
    active      boolean     NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- HMAC secrets, Fernet-encrypted; at most two active per partner (enforced under the partner row's lock).
CREATE TABLE partner_secrets (
    secret_id   text        PRIMARY KEY,
    partner_id  text        NOT NULL REFERENCES partners (partner_id),
    ciphertext  bytea       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    retired_at  timestamptz
);
CREATE INDEX partner_secrets_active ON partner_secrets (partner_id) WHERE retired_at IS NULL;

CREATE TABLE devices (
    device_id            text        PRIMARY KEY,
    kind                 text        NOT NULL,
    label                jsonb,
    place                jsonb       NOT NULL,
    country              text        NOT NULL,
    municipality_code    text,
    territory_code       text,
    settlement_code      text,
    latitude             double precision,
    longitude            double precision,
    partner_id           text        NOT NULL REFERENCES partners (partner_id),
    heartbeat_interval_s integer     NOT NULL CHECK (heartbeat_interval_s > 0),
    status               text        NOT NULL,
    status_changed_at    timestamptz NOT NULL DEFAULT now(),
    installed_at         timestamptz,
    last_heartbeat_at    timestamptz,
    offline_at           timestamptz,   -- when supervision next marks it offline (NULL: not supervised)
    battery_pct          double precision,
    signal_dbm           double precision,
    tamper               boolean,
    offline_alert_id     uuid,
    low_battery_alert_id uuid,
    created_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX devices_offline_due ON devices (offline_at) WHERE offline_at IS NOT NULL;

-- Which partner may speak for which device (the owner always may; others by grant).
CREATE TABLE partner_devices (
    partner_id text NOT NULL REFERENCES partners (partner_id),
    device_id  text NOT NULL REFERENCES devices (device_id),
    PRIMARY KEY (partner_id, device_id)
);

CREATE TABLE device_status_history (
    id              bigserial   PRIMARY KEY,
    device_id       text        NOT NULL REFERENCES devices (device_id),
    previous_status text,
    status          text        NOT NULL,
    reason          text,
    changed_at      timestamptz NOT NULL
);
CREATE INDEX device_status_history_device ON device_status_history (device_id, changed_at);

CREATE TABLE heartbeats (
    device_id   text             NOT NULL REFERENCES devices (device_id),
    sent_at     timestamptz      NOT NULL,
    partner_id  text             NOT NULL,
    received_at timestamptz      NOT NULL,
    battery_pct double precision,
    signal_dbm  double precision,
    tamper      boolean          NOT NULL DEFAULT false,
    PRIMARY KEY (device_id, sent_at)
);

CREATE TABLE alerts (
    alert_id           uuid        PRIMARY KEY,
    origin             text        NOT NULL,         -- partner | supervision
    kind               text        NOT NULL DEFAULT 'cap',  -- cap | device_offline | low_battery
    partner_id         text        NOT NULL,
    device_id          text,
    sender             text        NOT NULL,
    identifier         text        NOT NULL,
    sent               timestamptz NOT NULL,
    cap_status         text        NOT NULL,
    msg_type           text        NOT NULL,
    drill              boolean     NOT NULL,
    category           text        NOT NULL,
    event              text        NOT NULL,
    urgency            text        NOT NULL,
    severity           text        NOT NULL,
    certainty          text        NOT NULL,
    headline           text,
    area_desc          text        NOT NULL,
    place              jsonb       NOT NULL,
    country            text        NOT NULL,
    municipality_code  text,
    territory_code     text,
    settlement_code    text,
    expires            timestamptz,
    received_at        timestamptz NOT NULL,
    state              text        NOT NULL,
    escalation_level   text,
    escalation_count   integer     NOT NULL DEFAULT 0,
    ack_deadline       timestamptz,
    next_escalation_at timestamptz,                  -- the stored deadline the supervisor scans
    acknowledged_by    text,
    acknowledged_at    timestamptz,
    resolved_by        text,
    resolved_at        timestamptz,
    cancelled_at       timestamptz,
    updated_at         timestamptz NOT NULL,
    cap                jsonb
);
CREATE INDEX alerts_escalation_due ON alerts (next_escalation_at) WHERE next_escalation_at IS NOT NULL;
CREATE INDEX alerts_received ON alerts (received_at DESC);
CREATE INDEX alerts_state ON alerts (state, drill);

-- Every accepted CAP message, keyed by its CAP identity: a repeat is a no-op.
CREATE TABLE cap_messages (
    sender      text        NOT NULL,
    identifier  text        NOT NULL,
    sent        timestamptz NOT NULL,
    partner_id  text        NOT NULL,
    door        text        NOT NULL,           -- http | kafka
    msg_type    text        NOT NULL,
    cap_status  text        NOT NULL,
    alert_id    uuid,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (sender, identifier, sent)
);

CREATE TABLE alert_history (
    id        bigserial   PRIMARY KEY,
    alert_id  uuid        NOT NULL REFERENCES alerts (alert_id),
    at        timestamptz NOT NULL,
    action    text        NOT NULL,
    actor     text,
    level     text,
    note      text,
    detail    jsonb
);
CREATE INDEX alert_history_alert ON alert_history (alert_id, id);
