-- Operators' wrap-up and pause time per day, with the language and topic of the call each wrap-up followed: the
-- statistics' summary and operators' table read it instead of a month of state changes (a row spanning midnight
-- counts on each of its days). Rebuilt for whole days with the calls' roll-up (StatsRollup).
CREATE TABLE agent_stats_daily (
    day         date NOT NULL,
    operator_id bigint NOT NULL,
    state       text NOT NULL CHECK (state IN ('wrap_up', 'paused')),
    reason      text NOT NULL,
    language    text NOT NULL,
    topic_code  text NOT NULL,
    seconds     bigint NOT NULL,
    PRIMARY KEY (day, operator_id, state, reason, language, topic_code)
);
-- The rows of a day: those that ended after its start, or have not ended.
CREATE INDEX agent_state_log_ended_idx ON agent_state_log (ended_at);
