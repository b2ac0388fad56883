-- Mail: one outbox row per document (keyed by the document's deterministic reference) and the
-- owner's alert incidents. SMTP has no idempotency key, so the row's state is the only memory of
-- whether a mail went out: 'sending' is written before DATA and 'sent' after the server's 250.
CREATE TABLE mail_outbox (
    reference   TEXT PRIMARY KEY,  -- woo-order-17 | woo-refund-5 | alert:<incident>:<start|end|digest…>
    kind        TEXT NOT NULL,     -- invoice | creditnote | alert
    work_key    TEXT,              -- order:17 (the status page shows the mail with its item)
    number      TEXT,              -- the document's number in Dynaccount
    recipient   TEXT NOT NULL,     -- comma-separated for alerts
    language    TEXT NOT NULL,
    message_id  TEXT NOT NULL,     -- deterministic, from the reference
    context     TEXT NOT NULL,     -- JSON the templates are rendered with (frozen at enqueue)
    state       TEXT NOT NULL,     -- queued | sending | sent | failed | unknown | skipped
    attempts    INTEGER NOT NULL DEFAULT 0,
    due_at      REAL NOT NULL,
    created_at  REAL NOT NULL,
    updated_at  REAL NOT NULL,
    sent_at     REAL,
    error       TEXT,              -- the server's answer for failed, the reason for skipped
    reply       TEXT               -- the server's answer to DATA for sent
);
CREATE INDEX mail_outbox_due ON mail_outbox (state, due_at);
CREATE INDEX mail_outbox_work ON mail_outbox (work_key);
CREATE INDEX mail_outbox_recent ON mail_outbox (updated_at);

-- An incident the owner is told about once when it starts and once when it ends.
CREATE TABLE alert_incidents (
    id          INTEGER PRIMARY KEY,
    key         TEXT NOT NULL,     -- e.g. dynaccount-down, items-failed
    title       TEXT NOT NULL,
    detail      TEXT NOT NULL,
    first_seen  REAL NOT NULL,
    last_seen   REAL NOT NULL,
    announced   INTEGER NOT NULL DEFAULT 0,  -- the start mail is in the outbox
    ended_at    REAL
);
CREATE UNIQUE INDEX alert_incidents_open ON alert_incidents (key) WHERE ended_at IS NULL;
