-- Coarser roll-ups, derived from the daily ones whenever those are rebuilt, so that a report reads a few hundred rows
-- per month instead of tens of thousands (a month of call_stats_daily is 20,000 rows on a year of 1.8 million calls):
--   call_stats_monthly         by month, language, topic and operator (~700 rows a month): the operators' table and
--                              every whole month of a report with an operator or team chosen;
--   call_stats_days            by day, language and topic, without operators (~400 rows a month): the days' table;
--   call_stats_hourly_monthly  by month, hour of the day, language and topic: the hours' table;
--   agent_stats_monthly        operators' wrap-up and pause time by month.
-- Months are months of the report time zone, like the days they are made of. Partial months are read from the daily rows.
CREATE TABLE call_stats_monthly (
    month                     date NOT NULL,
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
    PRIMARY KEY (month, language, topic_code, operator_id)
);
CREATE TABLE call_stats_days (
    day                       date NOT NULL,
    language                  text NOT NULL,
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
    PRIMARY KEY (day, language, topic_code)
);
CREATE TABLE call_stats_hourly_monthly (
    month                     date NOT NULL,
    hour                      smallint NOT NULL,
    language                  text NOT NULL,
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
    PRIMARY KEY (month, hour, language, topic_code)
);
CREATE TABLE agent_stats_monthly (
    month       date NOT NULL,
    operator_id bigint NOT NULL,
    state       text NOT NULL,
    reason      text NOT NULL,
    language    text NOT NULL,
    topic_code  text NOT NULL,
    seconds     bigint NOT NULL,
    PRIMARY KEY (month, operator_id, state, reason, language, topic_code)
);

INSERT INTO call_stats_monthly (month, language, topic_code, operator_id, calls, answered, abandoned_ivr, abandoned_queue, operator_no_answer, callback_requested, callback_done, lost, repeated,
    answered_within_threshold, talk_seconds_sum, wait_seconds_sum, wait_seconds_max, queued, answered_wait_seconds_sum)
SELECT date_trunc('month', day)::date, language, topic_code, operator_id, sum(calls), sum(answered), sum(abandoned_ivr), sum(abandoned_queue), sum(operator_no_answer), sum(callback_requested),
    sum(callback_done), sum(lost), sum(repeated), sum(answered_within_threshold), sum(talk_seconds_sum), sum(wait_seconds_sum),
    max(wait_seconds_max), sum(queued), sum(answered_wait_seconds_sum)
FROM call_stats_daily GROUP BY 1, 2, 3, 4;
INSERT INTO call_stats_days (day, language, topic_code, calls, answered, abandoned_ivr, abandoned_queue, operator_no_answer, callback_requested, callback_done, lost, repeated,
    answered_within_threshold, talk_seconds_sum, wait_seconds_sum, wait_seconds_max, queued, answered_wait_seconds_sum)
SELECT day, language, topic_code, sum(calls), sum(answered), sum(abandoned_ivr), sum(abandoned_queue), sum(operator_no_answer), sum(callback_requested),
    sum(callback_done), sum(lost), sum(repeated), sum(answered_within_threshold), sum(talk_seconds_sum), sum(wait_seconds_sum),
    max(wait_seconds_max), sum(queued), sum(answered_wait_seconds_sum)
FROM call_stats_daily GROUP BY 1, 2, 3;
INSERT INTO call_stats_hourly_monthly (month, hour, language, topic_code, calls, answered, abandoned_ivr, abandoned_queue, operator_no_answer, callback_requested, callback_done, lost, repeated,
    answered_within_threshold, talk_seconds_sum, wait_seconds_sum, wait_seconds_max, queued, answered_wait_seconds_sum)
SELECT date_trunc('month', day)::date, hour, language, topic_code, sum(calls), sum(answered), sum(abandoned_ivr), sum(abandoned_queue), sum(operator_no_answer), sum(callback_requested),
    sum(callback_done), sum(lost), sum(repeated), sum(answered_within_threshold), sum(talk_seconds_sum), sum(wait_seconds_sum),
    max(wait_seconds_max), sum(queued), sum(answered_wait_seconds_sum)
FROM call_stats_hourly GROUP BY 1, 2, 3, 4;
INSERT INTO agent_stats_monthly (month, operator_id, state, reason, language, topic_code, seconds)
SELECT date_trunc('month', day)::date, operator_id, state, reason, language, topic_code, sum(seconds)
FROM agent_stats_daily GROUP BY 1, 2, 3, 4, 5, 6;
