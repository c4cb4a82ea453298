-- One row per submitted form that creates something (an appeal, a user): the one-time key the form
-- carried when it was shown. A second submission with the same key (a refresh, back and send again, a
-- double click, a retried request) finds the row and is answered with what the first one created.
CREATE TABLE form_submissions (
    key        text PRIMARY KEY CHECK (length(key) BETWEEN 16 AND 64),
    kind       text NOT NULL CHECK (kind IN ('appeal', 'user')),
    object_id  bigint,
    label      text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX form_submissions_created ON form_submissions (created_at);
