-- The overdue list: open appeals by due date, newest deadline first. Without it the list scanned every
-- appeal of the last fortnight (not yet overdue) before finding the first overdue one.
CREATE INDEX appeals_open_due_idx ON appeals (due_date DESC, id DESC)
    WHERE status NOT IN ('answered', 'closed', 'resolved');
