-- Operations (issue 16): how long work has waited, and the column an age is read from by an index.

-- When an item last became pending after being finished (a retry of a running item keeps its time),
-- so "oldest pending" is how long the queue's oldest work has waited, not the time of its last attempt.
ALTER TABLE work_items ADD COLUMN pending_since REAL;
UPDATE work_items SET pending_since = updated_at WHERE state = 'pending';
CREATE INDEX work_items_pending_since ON work_items (pending_since) WHERE state = 'pending';

CREATE TRIGGER work_items_pending_since_insert AFTER INSERT ON work_items
WHEN NEW.state = 'pending'
BEGIN
    UPDATE work_items SET pending_since = NEW.updated_at WHERE key = NEW.key;
END;

-- Fires for upserts too (their DO UPDATE sets state); recursive triggers are off, so this update
-- (which does not set state) fires nothing further.
CREATE TRIGGER work_items_pending_since_update AFTER UPDATE OF state ON work_items
WHEN NEW.state = 'pending' AND OLD.state NOT IN ('pending', 'running')
BEGIN
    UPDATE work_items SET pending_since = NEW.updated_at WHERE key = NEW.key;
END;
