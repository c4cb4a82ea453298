-- Statistics: what the daily roll-up lacked for the contact-centre measures.
ALTER TABLE call_stats_daily
    ADD COLUMN queued                    integer NOT NULL DEFAULT 0,   -- calls that reached the queue (offered to operators)
    ADD COLUMN answered_wait_seconds_sum bigint  NOT NULL DEFAULT 0;   -- for the average speed of answer
CREATE INDEX call_stats_daily_day_idx ON call_stats_daily (day);

-- Recordings library: retention purges the oldest first.
CREATE INDEX recordings_retention_idx ON recordings (started_at) WHERE purged_at IS NULL AND state = 'done';

-- Quality evaluation: the weekly sample is one evaluation per sampled call and form.
CREATE UNIQUE INDEX qa_evaluations_call_form_key ON qa_evaluations (call_id, form_id) WHERE call_id IS NOT NULL;
CREATE INDEX qa_evaluations_status_idx ON qa_evaluations (status, created_at);
