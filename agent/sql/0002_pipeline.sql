-- What the worker needs to act exactly once: links, intents, snapshots and an audit trail.

-- WooCommerce object <-> Dynaccount object. kind: order | refund | customer | product | payment | refund_payment
CREATE TABLE links (
    kind        TEXT NOT NULL,
    woo_id      TEXT NOT NULL,
    dyn_id      TEXT,              -- Dynaccount internal id
    dyn_number  TEXT,              -- invoice / debtor / product number
    state       TEXT NOT NULL,     -- e.g. draft | booked | created | registered
    reference   TEXT,              -- the deterministic reference put on the document
    amount      TEXT,              -- Decimal as text
    data        TEXT,              -- JSON with anything else worth keeping
    updated_at  REAL NOT NULL,
    PRIMARY KEY (kind, woo_id)
);
CREATE INDEX links_reference ON links (reference);

-- Written before every non-idempotent call; a 'started' intent found later means the outcome of
-- that call is unknown and the document must be looked up by its reference before trying again.
CREATE TABLE intents (
    key         TEXT PRIMARY KEY,  -- e.g. create-invoice:woo-order-17
    state       TEXT NOT NULL,     -- started | done
    attempts    INTEGER NOT NULL DEFAULT 0,
    started_at  REAL NOT NULL,
    finished_at REAL,
    result      TEXT
);

-- The WooCommerce state an action was based on, and the plan made from it.
CREATE TABLE snapshots (
    id          INTEGER PRIMARY KEY,
    work_key    TEXT NOT NULL,
    taken_at    REAL NOT NULL,
    resource    TEXT NOT NULL,     -- JSON as loaded from WooCommerce
    plan        TEXT               -- JSON of the plan
);
CREATE INDEX snapshots_work_key ON snapshots (work_key, id);

-- Timeline per work item: every decision, skip, failure and success with its reason.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    at          REAL NOT NULL,
    work_key    TEXT,
    level       TEXT NOT NULL,     -- info | warning | error
    message     TEXT NOT NULL,
    data        TEXT
);
CREATE INDEX events_work_key ON events (work_key, id);

ALTER TABLE work_items ADD COLUMN claimed_generation INTEGER;

-- Small named values: sweep cursors and the like.
CREATE TABLE kv (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  REAL NOT NULL
);
