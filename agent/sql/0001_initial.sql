-- Raw deliveries exactly as received, and work derived per resource.
CREATE TABLE deliveries (
    id            INTEGER PRIMARY KEY,
    received_at   REAL    NOT NULL,
    webhook_id    TEXT,
    delivery_id   TEXT,              -- X-WC-Webhook-Delivery-ID: informative only, NOT unique
    topic         TEXT,
    resource      TEXT,
    resource_id   TEXT,
    headers       TEXT    NOT NULL,  -- JSON object of the received headers
    body          BLOB    NOT NULL,  -- the exact signed bytes
    body_sha256   TEXT    NOT NULL,
    dedupe_key    TEXT    NOT NULL UNIQUE,
    signature     TEXT    NOT NULL,  -- valid | unsigned_ping
    state         TEXT    NOT NULL,  -- queued | ping | invalid_json | unknown_topic | error_payload | ignored
    error         TEXT,
    work_key      TEXT,
    repeats       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX deliveries_work_key ON deliveries (work_key);
CREATE INDEX deliveries_state ON deliveries (state);

CREATE TABLE work_items (
    key           TEXT    PRIMARY KEY,  -- e.g. order:17, product:11
    kind          TEXT    NOT NULL,
    resource_id   TEXT    NOT NULL,
    state         TEXT    NOT NULL,     -- pending | running | done | failed | skipped | held
    generation    INTEGER NOT NULL DEFAULT 1,
    attempts      INTEGER NOT NULL DEFAULT 0,
    due_at        REAL    NOT NULL,
    created_at    REAL    NOT NULL,
    updated_at    REAL    NOT NULL,
    last_delivery INTEGER REFERENCES deliveries (id),
    reason        TEXT,
    error         TEXT
);
CREATE INDEX work_items_due ON work_items (state, due_at);

-- A delivery that names a resource re-opens that resource's single work item, in the same
-- transaction as the delivery itself. A running item keeps running, but its generation moves on
-- so the worker that finishes it sees the resource changed meanwhile and leaves it pending.
-- Only true inserts fire this: a repeated delivery (upsert on dedupe_key) is an UPDATE.
CREATE TRIGGER deliveries_hint_work AFTER INSERT ON deliveries
WHEN NEW.work_key IS NOT NULL
BEGIN
    INSERT INTO work_items (key, kind, resource_id, state, due_at, created_at, updated_at, last_delivery)
    VALUES (NEW.work_key, substr(NEW.work_key, 1, instr(NEW.work_key, ':') - 1),
            substr(NEW.work_key, instr(NEW.work_key, ':') + 1), 'pending',
            NEW.received_at, NEW.received_at, NEW.received_at, NEW.id)
    ON CONFLICT (key) DO UPDATE SET
        generation = generation + 1,
        state = CASE WHEN state = 'running' THEN 'running' ELSE 'pending' END,
        attempts = CASE WHEN state IN ('pending', 'running') THEN attempts ELSE 0 END,
        due_at = CASE WHEN state = 'running' THEN due_at ELSE excluded.due_at END,
        updated_at = excluded.updated_at,
        last_delivery = excluded.last_delivery;
END;
