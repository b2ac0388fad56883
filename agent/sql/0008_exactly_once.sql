-- Exactly once (issue 10): what a hint must know to decide whether the order itself changed, and
-- indexes for the journal's named queries (no scan with a cap anywhere).

-- The fingerprint (agent/woo/fingerprint.py) of the order as the worker last acted on it, and the
-- one the latest hint brought. REOPEN (agent/journal/work.py) compares them: a failed or held item
-- is revived, and a finished one re-opened by the sweep, only when they differ.
ALTER TABLE work_items ADD COLUMN fingerprint TEXT;
ALTER TABLE work_items ADD COLUMN hint_fingerprint TEXT;

-- The drafts watch (kind order, state draft) and the page's attention list (refunds deleted in WooCommerce).
CREATE INDEX links_kind_state ON links (kind, state);
-- Pruning by age ([journal] keep_days).
CREATE INDEX snapshots_taken ON snapshots (taken_at);
CREATE INDEX events_at ON events (at);

-- Items written under an alias key before ids were canonical (order:032 beside order:32): the
-- canonical item takes the work (created pending if it did not exist) and the alias is retired.
INSERT OR IGNORE INTO work_items (key, kind, resource_id, state, due_at, created_at, updated_at)
SELECT kind || ':' || CAST(CAST(resource_id AS INTEGER) AS TEXT), kind, CAST(CAST(resource_id AS INTEGER) AS TEXT),
       'pending', due_at, created_at, updated_at
FROM work_items
WHERE resource_id GLOB '0*' AND resource_id NOT GLOB '*[^0-9]*' AND length(resource_id) <= 20
  AND CAST(resource_id AS INTEGER) > 0;
UPDATE work_items SET state = 'skipped', reason = 'not a canonical key: the work is done under '
       || kind || ':' || CAST(CAST(resource_id AS INTEGER) AS TEXT)
WHERE state != 'running' AND resource_id GLOB '0*' AND resource_id NOT GLOB '*[^0-9]*'
  AND length(resource_id) <= 20 AND CAST(resource_id AS INTEGER) > 0;
