-- The training service's schema. Names and contacts of participants live here and nowhere else;
-- events carry only the pseudonymous `participants.key`.

CREATE TABLE places (
    country     text  NOT NULL CHECK (country IN ('LV', 'RU')),
    code        text  NOT NULL,               -- the deepest unit's official code (ATVK / OKTMO)
    place       jsonb NOT NULL,               -- lsg_shared.geography.Place
    PRIMARY KEY (country, code)
);

CREATE TABLE programmes (
    id              text        PRIMARY KEY,
    code            text        NOT NULL UNIQUE,
    title           jsonb       NOT NULL,     -- lv/ru/en
    starts_on       date,
    ends_on         date,
    completion_rule jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_on IS NULL OR starts_on IS NULL OR ends_on >= starts_on)
);

CREATE TABLE modules (
    programme_id text          NOT NULL REFERENCES programmes (id) ON DELETE CASCADE,
    code         text          NOT NULL,
    title        jsonb         NOT NULL,
    hours        numeric(6, 2) NOT NULL CHECK (hours > 0),
    position     integer       NOT NULL DEFAULT 0,
    PRIMARY KEY (programme_id, code)
);

CREATE TABLE sessions (
    id           text        PRIMARY KEY,
    programme_id text        NOT NULL,
    module_code  text        NOT NULL,
    held_on      date        NOT NULL,
    place        jsonb       NOT NULL,
    trainers     jsonb       NOT NULL DEFAULT '[]'::jsonb,  -- names: personal data, never in events
    language     text        NOT NULL CHECK (language IN ('lv', 'ru', 'en')),
    closed_at    timestamptz,                                -- when training.session.held was emitted
    created_at   timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (programme_id, module_code) REFERENCES modules (programme_id, code) ON DELETE CASCADE
);
CREATE INDEX sessions_programme ON sessions (programme_id, module_code);

CREATE TABLE participants (
    id           uuid        PRIMARY KEY,
    key          text        NOT NULL UNIQUE,   -- pseudonymous key (keyed hash of id) used in events
    ref          text        UNIQUE,            -- the organisers' registration number, if any
    identity     text        NOT NULL UNIQUE,   -- dedupe key: ref, or name+country+contact (see repository)
    full_name    text        NOT NULL,          -- in the participant's own script, exactly as given (NFC)
    email        text,
    phone        text,
    role         text        NOT NULL,
    country      text        NOT NULL CHECK (country IN ('LV', 'RU')),
    place        jsonb       NOT NULL,
    gender       text        NOT NULL DEFAULT 'undisclosed',
    organisation text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE enrolments (
    programme_id       text        NOT NULL REFERENCES programmes (id) ON DELETE CASCADE,
    participant_id     uuid        NOT NULL REFERENCES participants (id),
    enrolled_at        timestamptz NOT NULL DEFAULT now(),
    currently_complete boolean     NOT NULL DEFAULT false,
    completed_on       date,        -- set once, when training.completed was emitted; never cleared
    completed_at       timestamptz,
    PRIMARY KEY (programme_id, participant_id)
);

CREATE TABLE attendance (
    session_id     text        NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    participant_id uuid        NOT NULL REFERENCES participants (id),
    present        boolean     NOT NULL,
    source         text        NOT NULL,     -- check-in | sheet | correction
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (session_id, participant_id)
);
CREATE INDEX attendance_participant ON attendance (participant_id);

-- What has been told about each (participant, module): the state the last training.attended carried.
CREATE TABLE module_status (
    programme_id    text    NOT NULL,
    participant_id  uuid    NOT NULL,
    module_code     text    NOT NULL,
    attended        boolean NOT NULL,
    revision        integer NOT NULL,
    last_session_id text,
    attended_on     date,
    PRIMARY KEY (programme_id, participant_id, module_code),
    FOREIGN KEY (programme_id, participant_id) REFERENCES enrolments (programme_id, participant_id) ON DELETE CASCADE
);

CREATE TABLE activities (
    id           text        PRIMARY KEY,
    kind         text        NOT NULL CHECK (kind IN ('study_tour', 'conference', 'staff_exchange')),
    title        jsonb       NOT NULL,
    starts_on    date        NOT NULL,
    ends_on      date        NOT NULL,
    place        jsonb       NOT NULL,
    programme_id text        REFERENCES programmes (id),
    held_at      timestamptz,             -- when activity.held was emitted
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_on >= starts_on)
);

CREATE TABLE activity_participants (
    activity_id    text        NOT NULL REFERENCES activities (id) ON DELETE CASCADE,
    participant_id uuid        NOT NULL REFERENCES participants (id),
    added_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (activity_id, participant_id)
);
