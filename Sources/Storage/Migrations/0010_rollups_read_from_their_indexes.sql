-- The roll-ups are rebuilt a day at a time, so a month's rows lie scattered over the table (a month of
-- call_stats_daily touched 4,000 pages for 20,000 rows). Covering indexes by day let a report read its period from
-- the index alone, in order.
DROP INDEX call_stats_daily_day_idx;
CREATE INDEX call_stats_daily_day_cover_idx ON call_stats_daily (day) INCLUDE (
    language, topic_code, operator_id, calls, answered, abandoned_ivr, abandoned_queue, operator_no_answer, callback_requested,
    callback_done, lost, repeated, answered_within_threshold, talk_seconds_sum, wait_seconds_sum, wait_seconds_max, queued,
    answered_wait_seconds_sum);
CREATE INDEX call_stats_hourly_day_cover_idx ON call_stats_hourly (day) INCLUDE (
    hour, language, topic_code, calls, answered, abandoned_ivr, abandoned_queue, operator_no_answer, callback_requested,
    callback_done, lost, repeated, answered_within_threshold, talk_seconds_sum, wait_seconds_sum, wait_seconds_max, queued,
    answered_wait_seconds_sum);
CREATE INDEX agent_stats_daily_day_cover_idx ON agent_stats_daily (day) INCLUDE (operator_id, state, reason, language, topic_code, seconds);
-- A region is known from appeals only: its wrap-ups are found by the calls behind the region's appeals.
CREATE INDEX agent_state_log_call_idx ON agent_state_log (call_id) WHERE call_id IS NOT NULL;
