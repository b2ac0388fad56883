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
