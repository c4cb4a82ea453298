-- Statistics on a year of data: calls per hour of day from a roll-up, appeals counted from an index
-- alone, and the most frequent callers from the repeated calls.
CREATE TABLE call_stats_hourly (
    day                       date NOT NULL,
    hour                      smallint NOT NULL CHECK (hour BETWEEN 0 AND 23),
    language                  text NOT NULL CHECK (language IN ('uz', 'ru', '')),
    topic_code                text NOT NULL,
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
    queued                    integer NOT NULL DEFAULT 0,
    answered_wait_seconds_sum bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (day, hour, language, topic_code)
);
CREATE INDEX appeals_created_cover_idx ON appeals (created_at) INCLUDE (category_code, topic_code, region_code, status, language, operator_id);
-- A region is known from appeals only: the calls behind a region's appeals.
CREATE INDEX appeals_region_created_idx ON appeals (region_code, created_at) INCLUDE (call_id);
CREATE INDEX calls_repeated_started_idx ON calls (started_at) INCLUDE (caller_number) WHERE repeated;
