-- A region is known from the appeals registered for a call only. A report for one region read the region's calls one by
-- one through its appeals, three times (days, hours, operators), and the wrap-ups after them from the state log: 85 ms
-- for a month of one region on a year of 1.8 million calls. These roll-ups hold the calls and the wrap-ups behind each
-- region's appeals by day, hour, language, topic and operator (a call whose appeals name two regions counts in both), so
-- a region's month is a few thousand rows read in order. Rebuilt with the other roll-ups; filled by the server at start.
CREATE TABLE call_stats_region_daily (
    day                       date NOT NULL,
    region_code               text NOT NULL,
    hour                      smallint NOT NULL,
    language                  text NOT NULL,
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
    queued                    integer NOT NULL DEFAULT 0,
    answered_wait_seconds_sum bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (region_code, day, hour, language, topic_code, operator_id)
);
CREATE TABLE agent_stats_region_daily (
    day         date NOT NULL,
    region_code text NOT NULL,
    operator_id bigint NOT NULL,
    language    text NOT NULL,
    topic_code  text NOT NULL,
    seconds     bigint NOT NULL,
    PRIMARY KEY (region_code, day, operator_id, language, topic_code)
);
-- Whether the region roll-ups were ever filled (the server fills them once, for every day, after this upgrade).
ALTER TABLE stats_settings ADD COLUMN regions_filled boolean NOT NULL DEFAULT false;
