-- Operations (issue 16): how long work has waited, and the column an age is read from by an index.

-- When an item last became pending after being finished (a retry of a running item keeps its time),
-- so "oldest pending" is how long the queue's oldest work has waited, not the time of its last attempt.
-- Written by the one re-open rule (journal/work.py REOPEN) and by requeue; no trigger.
ALTER TABLE work_items ADD COLUMN pending_since REAL;
UPDATE work_items SET pending_since = updated_at WHERE state = 'pending';
CREATE INDEX work_items_pending_since ON work_items (pending_since) WHERE state = 'pending';

-- What a human decided about a held item: approve (book as planned), dismiss (done without booking),
-- replan (after editing a mapping). ``data`` pins what the decision was about (the plan's digest, a digest
-- of the order's content), so a decision never carries over to an order that changed since.
CREATE TABLE decisions (
    id          INTEGER PRIMARY KEY,
    work_key    TEXT NOT NULL,
    action      TEXT NOT NULL,     -- approve | dismiss | replan
    decided_by  TEXT NOT NULL,
    decided_at  REAL NOT NULL,
    reason      TEXT,
    data        TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX decisions_work_key ON decisions (work_key, id);

-- Mappings edited from the page or the CLI; they win over the config file's [vat] tables.
CREATE TABLE mapping_overrides (
    key         TEXT PRIMARY KEY,  -- by_rate_id:<rate id> | by_country_rate:<CC:percent>
    vatcode     TEXT NOT NULL,
    decided_by  TEXT NOT NULL,
    decided_at  REAL NOT NULL
);

-- What a bookkeeper reads in the work list instead of "order:28": written when the order is loaded.
CREATE TABLE work_summaries (
    key         TEXT PRIMARY KEY,  -- the work item's key
    number      TEXT NOT NULL,     -- the shop's order number
    ordered_at  TEXT NOT NULL,     -- ISO 8601, GMT (date_created_gmt)
    customer    TEXT NOT NULL,
    total       TEXT NOT NULL,     -- Decimal as text
    currency    TEXT NOT NULL,
    search      TEXT NOT NULL      -- lower-case number, customer and e-mail, for the text filter
);
CREATE INDEX work_summaries_ordered_at ON work_summaries (ordered_at);

-- The work list pages newest first by (updated_at, key), with or without a state filter.
CREATE INDEX work_items_updated ON work_items (updated_at, key);
CREATE INDEX work_items_state_updated ON work_items (state, updated_at, key);
