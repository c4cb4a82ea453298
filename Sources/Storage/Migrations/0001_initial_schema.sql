-- Murojaat initial schema (PostgreSQL 15).
-- The migrator runs this file as one simple-query string inside its own transaction:
-- no BEGIN/COMMIT, no psql meta-commands, no functions or triggers, and no semicolons
-- inside comments or literals, so even a naive statement splitter stays correct.
-- Conventions: enums are text + CHECK (extend by replacing the constraint), all times are
-- timestamptz, phone numbers are stored normalised as +998XXXXXXXXX where known,
-- updated_at columns are set by the application.

-- Reference data (seeded from Seed/*.csv by the application) -----------------------------

CREATE TABLE regions (
    code    text PRIMARY KEY,                 -- ISO 3166-2:UZ suffix, e.g. TK
    name_uz text NOT NULL, name_ru text NOT NULL,
    sort    integer NOT NULL DEFAULT 0
);

CREATE TABLE categories (
    code                text PRIMARY KEY,     -- question, complaint, suggestion, application, gratitude
    name_uz             text NOT NULL, name_ru text NOT NULL,
    legal_deadline_days integer CHECK (legal_deadline_days > 0), -- ZRU-445 art. 28, null = none
    sort                integer NOT NULL DEFAULT 0, active boolean NOT NULL DEFAULT true
);

CREATE TABLE topics (
    code        text PRIMARY KEY,             -- e.g. results.scoring
    parent_code text REFERENCES topics (code) ON UPDATE CASCADE,
    name_uz     text NOT NULL, name_ru text NOT NULL,
    sort        integer NOT NULL DEFAULT 0, active boolean NOT NULL DEFAULT true,
    CONSTRAINT topics_not_own_parent CHECK (parent_code IS DISTINCT FROM code)
);
CREATE INDEX topics_parent_idx ON topics (parent_code);

-- People, teams, sessions ---------------------------------------------------------------

CREATE TABLE teams (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          text NOT NULL UNIQUE,
    supervisor_id bigint,                     -- FK to users added below (circular)
    editor_id     bigint,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    login               text NOT NULL CHECK (login <> '' AND login = btrim(login)),
    full_name           text NOT NULL,
    password_hash       text NOT NULL,        -- self-describing hash string (algorithm$params$salt$hash)
    role                text NOT NULL CHECK (role IN ('operator', 'editor', 'supervisor', 'admin', 'dtm')),
    language            text NOT NULL DEFAULT 'uz' CHECK (language IN ('uz', 'ru')),
    team_id             bigint REFERENCES teams (id) ON DELETE SET NULL,
    active              boolean NOT NULL DEFAULT true,
    failed_logins       integer NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    locked_until        timestamptz,
    last_login_at       timestamptz,
    password_changed_at timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now()
);
-- logins are case-insensitive
CREATE UNIQUE INDEX users_login_lower_key ON users (lower(login));
CREATE INDEX users_team_idx ON users (team_id);

ALTER TABLE teams
    ADD CONSTRAINT teams_supervisor_fk FOREIGN KEY (supervisor_id) REFERENCES users (id) ON DELETE SET NULL,
    ADD CONSTRAINT teams_editor_fk FOREIGN KEY (editor_id) REFERENCES users (id) ON DELETE SET NULL;

-- Server-side sessions. The cookie holds a random token, only its SHA-256 is stored.
CREATE TABLE sessions (
    id           bytea PRIMARY KEY CHECK (octet_length(id) = 32),
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    ip           inet,
    user_agent   text
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

-- Operators and agent states ------------------------------------------------------------

CREATE TABLE operators (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id            bigint NOT NULL UNIQUE REFERENCES users (id),
    extension          text NOT NULL UNIQUE,  -- e.g. 101
    endpoint           text NOT NULL UNIQUE,  -- ARI endpoint, e.g. PJSIP/101
    skill_uz           boolean NOT NULL DEFAULT true,
    skill_ru           boolean NOT NULL DEFAULT false,
    -- current state (history in agent_state_log)
    state              text NOT NULL DEFAULT 'offline'
                       CHECK (state IN ('offline', 'ready', 'ringing', 'on_call', 'wrap_up', 'paused')),
    state_since        timestamptz NOT NULL DEFAULT now(),
    pause_reason       text,
    current_call_id    uuid,                  -- FK to calls added below
    last_call_ended_at timestamptz,           -- longest-idle routing
    created_at         timestamptz NOT NULL DEFAULT now()
);
-- routing: ready operators, longest idle first
CREATE INDEX operators_ready_idx ON operators (last_call_ended_at NULLS FIRST) WHERE state = 'ready';

CREATE TABLE shifts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    operator_id bigint NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    starts_at   timestamptz NOT NULL, ends_at timestamptz NOT NULL,
    note        text,
    CONSTRAINT shifts_period CHECK (ends_at > starts_at)
);
CREATE INDEX shifts_time_idx ON shifts (starts_at, operator_id);

-- Calls ---------------------------------------------------------------------------------

CREATE TABLE calls (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    direction       text NOT NULL DEFAULT 'inbound' CHECK (direction IN ('inbound', 'outbound')),
    asterisk_node   text NOT NULL,            -- ARI server name or entity id
    channel_id      text NOT NULL,            -- caller's (or callback's) channel id
    caller_number   text,
    dialled_number  text,
    language        text CHECK (language IN ('uz', 'ru')),
    ivr_path        text[] NOT NULL DEFAULT '{}',  -- node codes and digits, in order
    topic_code      text REFERENCES topics (code) ON UPDATE CASCADE,
    started_at      timestamptz NOT NULL DEFAULT now(),
    ivr_ended_at    timestamptz,
    queued_at       timestamptz,
    answered_at     timestamptz,
    ended_at        timestamptz,
    wait_seconds    integer CHECK (wait_seconds >= 0),
    talk_seconds    integer CHECK (talk_seconds >= 0),
    operator_id     bigint REFERENCES operators (id),
    outcome         text NOT NULL DEFAULT 'in_progress'
                    CHECK (outcome IN ('in_progress', 'answered', 'abandoned_ivr', 'abandoned_queue',
                                       'operator_no_answer', 'callback_requested', 'callback_done', 'lost')),
    hangup_side     text CHECK (hangup_side IN ('caller', 'operator', 'system')),
    repeated        boolean NOT NULL DEFAULT false, -- same number within the repeat window
    callback_number text,
    anonymized_at   timestamptz,              -- personal data removed by retention
    CONSTRAINT calls_channel_key UNIQUE (asterisk_node, channel_id)  -- reconnects never duplicate
);
CREATE INDEX calls_started_idx ON calls (started_at);
CREATE INDEX calls_operator_started_idx ON calls (operator_id, started_at);
CREATE INDEX calls_topic_started_idx ON calls (topic_code, started_at);
CREATE INDEX calls_outcome_started_idx ON calls (outcome, started_at);
CREATE INDEX calls_caller_started_idx ON calls (caller_number, started_at);
CREATE INDEX calls_in_progress_idx ON calls (asterisk_node) WHERE outcome = 'in_progress';

ALTER TABLE operators ADD CONSTRAINT operators_current_call_fk
    FOREIGN KEY (current_call_id) REFERENCES calls (id) ON DELETE SET NULL;

CREATE TABLE agent_state_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    operator_id bigint NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    state       text NOT NULL CHECK (state IN ('offline', 'ready', 'ringing', 'on_call', 'wrap_up', 'paused')),
    reason      text,
    call_id     uuid REFERENCES calls (id) ON DELETE SET NULL,
    started_at  timestamptz NOT NULL DEFAULT now(), ended_at timestamptz,
    CONSTRAINT agent_state_log_period CHECK (ended_at IS NULL OR ended_at >= started_at)
);
CREATE INDEX agent_state_log_operator_idx ON agent_state_log (operator_id, started_at);
CREATE INDEX agent_state_log_started_idx ON agent_state_log (started_at);
CREATE UNIQUE INDEX agent_state_log_open_key ON agent_state_log (operator_id) WHERE ended_at IS NULL;

CREATE TABLE call_events (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    call_id uuid NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    at      timestamptz NOT NULL DEFAULT now(),
    kind    text NOT NULL,                    -- e.g. answered, ivr_digit, queued, ring, bridged, hangup
    data    jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX call_events_call_idx ON call_events (call_id, at);
-- retention purge by time
CREATE INDEX call_events_at_brin ON call_events USING brin (at);

CREATE TABLE recordings (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    call_id          uuid NOT NULL REFERENCES calls (id),
    name             text NOT NULL UNIQUE,    -- ARI recording name
    format           text NOT NULL DEFAULT 'wav',
    asterisk_node    text NOT NULL,
    state            text NOT NULL DEFAULT 'recording' CHECK (state IN ('recording', 'done', 'failed')),
    error            text,
    duration_seconds integer CHECK (duration_seconds >= 0),
    size_bytes       bigint CHECK (size_bytes >= 0),
    storage_path     text,                    -- the app's own copy, null while only on Asterisk
    started_at       timestamptz NOT NULL DEFAULT now(), finished_at timestamptz,
    purged_at        timestamptz              -- retention: file deleted, row kept
);
CREATE INDEX recordings_call_idx ON recordings (call_id);
CREATE INDEX recordings_started_idx ON recordings (started_at);

CREATE TABLE callbacks (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    call_id         uuid NOT NULL REFERENCES calls (id),   -- the call that asked for it
    number          text NOT NULL,
    language        text CHECK (language IN ('uz', 'ru')),
    requested_at    timestamptz NOT NULL DEFAULT now(),
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'dialing', 'done', 'failed', 'cancelled')),
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_attempt_at timestamptz,
    result_call_id  uuid REFERENCES calls (id),            -- outbound call that reached the citizen
    operator_id     bigint REFERENCES operators (id),
    done_at         timestamptz
);
CREATE INDEX callbacks_call_idx ON callbacks (call_id);
CREATE INDEX callbacks_due_idx ON callbacks (next_attempt_at) WHERE status IN ('pending', 'dialing');

-- IVR ----------------------------------------------------------------------------------

-- Sound library: one row per language variant. name is what IVR nodes refer to.
CREATE TABLE prompts (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL UNIQUE,          -- e.g. menu.topics.uz
    language   text NOT NULL CHECK (language IN ('uz', 'ru')),
    text       text NOT NULL DEFAULT '',      -- what the sound says (TTS source)
    sound_file text,                          -- Asterisk sound name without extension, e.g. murojaat/menu_topics_uz
    source     text NOT NULL DEFAULT 'synthesized' CHECK (source IN ('synthesized', 'uploaded')),
    updated_by bigint REFERENCES users (id),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- The menu tree. Level 1 (language 'both') is the language menu, level 2 per language.
CREATE TABLE ivr_nodes (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code            text NOT NULL UNIQUE,     -- e.g. root, uz, ru, uz.results
    parent_id       bigint REFERENCES ivr_nodes (id) ON DELETE CASCADE,
    level           smallint NOT NULL CHECK (level BETWEEN 1 AND 5),
    language        text NOT NULL DEFAULT 'both' CHECK (language IN ('uz', 'ru', 'both')),
    title           text NOT NULL DEFAULT '',  -- label in the back office
    prompt_uz       text REFERENCES prompts (name) ON UPDATE CASCADE,
    prompt_ru       text REFERENCES prompts (name) ON UPDATE CASCADE,
    timeout_seconds integer NOT NULL DEFAULT 5 CHECK (timeout_seconds BETWEEN 1 AND 60),
    max_failures    integer NOT NULL DEFAULT 3 CHECK (max_failures BETWEEN 1 AND 10),
    sort            integer NOT NULL DEFAULT 0,
    active          boolean NOT NULL DEFAULT true,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ivr_nodes_root_level CHECK ((parent_id IS NULL) = (level = 1))
);
CREATE INDEX ivr_nodes_parent_idx ON ivr_nodes (parent_id);

CREATE TABLE ivr_actions (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    node_id        bigint NOT NULL REFERENCES ivr_nodes (id) ON DELETE CASCADE,
    digit          text NOT NULL CHECK (digit ~ '^[0-9*#]$'),
    action         text NOT NULL CHECK (action IN ('submenu', 'info', 'queue', 'repeat', 'back', 'operator')),
    target_node_id bigint REFERENCES ivr_nodes (id) ON DELETE CASCADE,
    skill          text CHECK (skill IN ('uz', 'ru')),  -- queue skill, null = call language
    topic_code     text REFERENCES topics (code) ON UPDATE CASCADE,  -- sets the call's topic
    info_prompt    text REFERENCES prompts (name) ON UPDATE CASCADE,
    sort           integer NOT NULL DEFAULT 0,
    UNIQUE (node_id, digit),
    CONSTRAINT ivr_actions_submenu_target CHECK (action <> 'submenu' OR target_node_id IS NOT NULL),
    CONSTRAINT ivr_actions_info_prompt CHECK (action <> 'info' OR info_prompt IS NOT NULL)
);

-- Appeals ------------------------------------------------------------------------------

-- Gap-free numbering per year:
-- INSERT INTO appeal_counters (year, last_seq) VALUES ($1, 1)
-- ON CONFLICT (year) DO UPDATE SET last_seq = appeal_counters.last_seq + 1 RETURNING last_seq
CREATE TABLE appeal_counters (
    year     smallint PRIMARY KEY,
    last_seq integer NOT NULL CHECK (last_seq >= 0)
);

CREATE TABLE appeals (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    year                smallint NOT NULL CHECK (year BETWEEN 2000 AND 2999),
    seq                 integer NOT NULL CHECK (seq > 0),
    number              text NOT NULL GENERATED ALWAYS AS (
                            year::text || '-' ||
                            CASE WHEN seq < 1000000 THEN lpad(seq::text, 6, '0') ELSE seq::text END
                        ) STORED,         -- e.g. 2026-000123
    source              text NOT NULL CHECK (source IN ('call', 'web', 'written')),
    citizen_name        text,
    phone               text CHECK (phone ~ '^\+[0-9]{7,15}$'),
    citizen_email       text,
    region_code         text REFERENCES regions (code) ON UPDATE CASCADE,
    language            text NOT NULL DEFAULT 'uz' CHECK (language IN ('uz', 'ru')),
    category_code       text NOT NULL REFERENCES categories (code) ON UPDATE CASCADE,
    topic_code          text REFERENCES topics (code) ON UPDATE CASCADE,
    text                text NOT NULL DEFAULT '',
    official_text       text,                 -- editor's wording for the chancery
    answer              text,
    status              text NOT NULL DEFAULT 'new'
                        CHECK (status IN ('new', 'in_progress', 'resolved', 'unresolved', 'disputed',
                                          'forwarded', 'answered', 'closed')),
    consent             boolean NOT NULL DEFAULT false, consent_at timestamptz,  -- ZRU-547
    call_id             uuid REFERENCES calls (id),
    operator_id         bigint REFERENCES operators (id),
    created_by          bigint REFERENCES users (id),     -- null for the public web form
    assigned_to         bigint REFERENCES users (id),     -- editor working on it
    due_date            date,
    chancery_reg_number text,
    forwarded_at        timestamptz, answered_at timestamptz, closed_at timestamptz,
    status_token_hash   bytea UNIQUE,         -- SHA-256 of the public status-link token
    anonymized_at       timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT appeals_year_seq_key UNIQUE (year, seq),
    CONSTRAINT appeals_number_key UNIQUE (number)
);
CREATE INDEX appeals_status_due_idx ON appeals (status, due_date);
CREATE INDEX appeals_created_idx ON appeals (created_at);
CREATE INDEX appeals_phone_idx ON appeals (phone);
CREATE INDEX appeals_category_created_idx ON appeals (category_code, created_at);
CREATE INDEX appeals_topic_created_idx ON appeals (topic_code, created_at);
CREATE INDEX appeals_call_idx ON appeals (call_id);
CREATE INDEX appeals_operator_created_idx ON appeals (operator_id, created_at);
CREATE INDEX appeals_assigned_idx ON appeals (assigned_to, status) WHERE assigned_to IS NOT NULL;

CREATE TABLE appeal_history (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    appeal_id   bigint NOT NULL REFERENCES appeals (id) ON DELETE CASCADE,
    from_status text,                         -- null on creation
    to_status   text NOT NULL,
    user_id     bigint REFERENCES users (id), -- null = citizen or system
    comment     text,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX appeal_history_appeal_idx ON appeal_history (appeal_id, at);

-- Knowledge base -----------------------------------------------------------------------

CREATE TABLE kb_articles (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic_code text REFERENCES topics (code) ON UPDATE CASCADE,
    kind       text NOT NULL CHECK (kind IN ('faq', 'script')),
    language   text NOT NULL CHECK (language IN ('uz', 'ru')),
    title      text NOT NULL,
    body       text NOT NULL DEFAULT '',
    active     boolean NOT NULL DEFAULT true,
    search     tsvector GENERATED ALWAYS AS (
                   setweight(to_tsvector('simple'::regconfig, coalesce(title, '')), 'A') ||
                   setweight(to_tsvector('simple'::regconfig, coalesce(body, '')), 'B')
               ) STORED,
    version    integer NOT NULL DEFAULT 1 CHECK (version > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_by bigint REFERENCES users (id),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX kb_articles_search_idx ON kb_articles USING gin (search);
CREATE INDEX kb_articles_topic_idx ON kb_articles (topic_code, language);

-- One row per saved version (the previous content when an article is edited).
CREATE TABLE kb_article_history (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    article_id bigint NOT NULL REFERENCES kb_articles (id) ON DELETE CASCADE,
    version    integer NOT NULL,
    topic_code text,
    kind       text NOT NULL,
    language   text NOT NULL,
    title      text NOT NULL,
    body       text NOT NULL,
    changed_by bigint REFERENCES users (id),
    changed_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (article_id, version)
);

-- Settings and audit -------------------------------------------------------------------

CREATE TABLE settings (
    key        text PRIMARY KEY,              -- e.g. queue.ring_timeout_seconds, stats.answer_threshold_seconds
    value      jsonb NOT NULL,
    updated_by bigint REFERENCES users (id),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    user_id     bigint REFERENCES users (id),
    ip          inet,
    action      text NOT NULL,                -- e.g. login, recording.download, appeal.view
    object_type text,
    object_id   text,
    details     jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at_idx ON audit_log (at);
CREATE INDEX audit_log_user_at_idx ON audit_log (user_id, at);
CREATE INDEX audit_log_object_idx ON audit_log (object_type, object_id, at);

-- Notifications ------------------------------------------------------------------------

CREATE TABLE outbox (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel             text NOT NULL CHECK (channel IN ('email', 'telegram', 'sms')),
    dedupe_key          text UNIQUE,          -- e.g. appeal:123:alert:disputed
    payload             jsonb NOT NULL,       -- recipient, subject, text, attachments
    status              text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts            integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at     timestamptz NOT NULL DEFAULT now(),
    locked_until        timestamptz,          -- lease while sending, for crash recovery
    last_error          text,
    provider_message_id text,                 -- SMS id, Telegram message id, SMTP message id
    appeal_id           bigint REFERENCES appeals (id),   -- registry of what was sent for an appeal
    created_at          timestamptz NOT NULL DEFAULT now(),
    sent_at             timestamptz
);
CREATE INDEX outbox_due_idx ON outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_sending_idx ON outbox (locked_until) WHERE status = 'sending';
CREATE INDEX outbox_appeal_idx ON outbox (appeal_id) WHERE appeal_id IS NOT NULL;
CREATE INDEX outbox_provider_msg_idx ON outbox (provider_message_id) WHERE provider_message_id IS NOT NULL;

CREATE TABLE sms_delivery_reports (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    outbox_id           bigint REFERENCES outbox (id) ON DELETE SET NULL,  -- null if not matched
    provider            text NOT NULL CHECK (provider IN ('eskiz', 'playmobile')),
    provider_message_id text,
    phone               text,
    status              text NOT NULL,        -- provider status as sent, e.g. DELIVERED
    status_at           timestamptz,
    received_at         timestamptz NOT NULL DEFAULT now(),
    raw                 jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX sms_delivery_reports_outbox_idx ON sms_delivery_reports (outbox_id);
CREATE INDEX sms_delivery_reports_msg_idx ON sms_delivery_reports (provider, provider_message_id);

CREATE TABLE alerts (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_.]*$'),  -- e.g. recording_failed, ari_disconnected
    severity        text NOT NULL DEFAULT 'warning' CHECK (severity IN ('info', 'warning', 'critical')),
    message         text NOT NULL,
    call_id         uuid REFERENCES calls (id) ON DELETE SET NULL,
    appeal_id       bigint REFERENCES appeals (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    acknowledged_by bigint REFERENCES users (id), acknowledged_at timestamptz
);
CREATE INDEX alerts_open_idx ON alerts (created_at) WHERE acknowledged_at IS NULL;
CREATE INDEX alerts_created_idx ON alerts (created_at);

-- Quality assurance --------------------------------------------------------------------

CREATE TABLE qa_forms (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL UNIQUE,
    active     boolean NOT NULL DEFAULT true,
    created_by bigint REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE qa_criteria (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    form_id    bigint NOT NULL REFERENCES qa_forms (id) ON DELETE CASCADE,
    sort       integer NOT NULL DEFAULT 0,
    title_uz   text NOT NULL, title_ru text NOT NULL,
    max_points smallint NOT NULL DEFAULT 5 CHECK (max_points > 0),
    weight     numeric(6,2) NOT NULL DEFAULT 1 CHECK (weight > 0),
    critical   boolean NOT NULL DEFAULT false  -- failing it zeroes the evaluation
);
CREATE INDEX qa_criteria_form_idx ON qa_criteria (form_id, sort);

CREATE TABLE qa_evaluations (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    form_id         bigint NOT NULL REFERENCES qa_forms (id),
    call_id         uuid REFERENCES calls (id),
    operator_id     bigint NOT NULL REFERENCES operators (id),
    evaluator_id    bigint NOT NULL REFERENCES users (id),
    mode            text NOT NULL DEFAULT 'offline' CHECK (mode IN ('live', 'offline')),
    status          text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'final')),
    total_score     numeric(5,2) CHECK (total_score BETWEEN 0 AND 100),
    critical_failed boolean NOT NULL DEFAULT false,
    comment         text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    finalized_at    timestamptz,
    acknowledged_at timestamptz               -- operator has read it
);
CREATE INDEX qa_evaluations_operator_idx ON qa_evaluations (operator_id, created_at);
CREATE INDEX qa_evaluations_call_idx ON qa_evaluations (call_id);

CREATE TABLE qa_scores (
    evaluation_id bigint NOT NULL REFERENCES qa_evaluations (id) ON DELETE CASCADE,
    criterion_id  bigint NOT NULL REFERENCES qa_criteria (id),
    points        smallint CHECK (points >= 0),  -- null = not applicable
    comment       text,
    PRIMARY KEY (evaluation_id, criterion_id)
);

-- Statistics rollup --------------------------------------------------------------------

-- One row per day (Asia/Tashkent) and dimension combination, rebuilt idempotently from calls.
-- Dimensions are NOT NULL for the primary key: language '' = none chosen,
-- topic_code '' = no topic, operator_id 0 = no operator (so no foreign keys here).
CREATE TABLE call_stats_daily (
    day                       date NOT NULL,
    language                  text NOT NULL CHECK (language IN ('uz', 'ru', '')),
    topic_code                text NOT NULL,
    operator_id               bigint NOT NULL,
    calls                     integer NOT NULL DEFAULT 0,
    answered                  integer NOT NULL DEFAULT 0,
    abandoned_ivr             integer NOT NULL DEFAULT 0,
    abandoned_queue           integer NOT NULL DEFAULT 0,
    operator_no_answer        integer NOT NULL DEFAULT 0,
    callback_requested        integer NOT NULL DEFAULT 0,
    callback_done             integer NOT NULL DEFAULT 0,
    lost                      integer NOT NULL DEFAULT 0,
    repeated                  integer NOT NULL DEFAULT 0,
    answered_within_threshold integer NOT NULL DEFAULT 0,
    talk_seconds_sum          bigint NOT NULL DEFAULT 0,
    wait_seconds_sum          bigint NOT NULL DEFAULT 0,
    wait_seconds_max          integer NOT NULL DEFAULT 0,
    updated_at                timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (day, language, topic_code, operator_id)
);
CREATE INDEX call_stats_daily_operator_idx ON call_stats_daily (operator_id, day);
