-- Orders from CSV/XML files (issue 18). The file is stored before anything is planned; the same bytes
-- uploaded again are found by their SHA-256.
CREATE TABLE import_files (
    id          INTEGER PRIMARY KEY,
    sha256      TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    size        INTEGER NOT NULL,
    mapping     TEXT NOT NULL,
    received_at REAL NOT NULL,
    body        BLOB NOT NULL,
    uploads     INTEGER NOT NULL DEFAULT 1,
    last_upload REAL NOT NULL,
    summary     TEXT
);

-- One row per (source, order number): its id is the order's id in the file namespace of links and
-- intents (kind 'file:order', order_id 'file:<id>'), so it never meets a WooCommerce order id.
CREATE TABLE file_orders (
    id          INTEGER PRIMARY KEY,
    source      TEXT NOT NULL,
    number      TEXT NOT NULL,
    file_id     INTEGER NOT NULL REFERENCES import_files (id),
    body        TEXT NOT NULL,     -- the order as built from the file (WooCommerce's shape), JSON
    updated_at  REAL NOT NULL,
    UNIQUE (source, number)
);

-- Credits of a file order (negative lines, credit-note files); the id is the refund id in the file
-- namespace. credit_key is the credit-note number or a hash of the credited lines.
CREATE TABLE file_credits (
    id          INTEGER PRIMARY KEY,
    order_ref   INTEGER NOT NULL REFERENCES file_orders (id),
    credit_key  TEXT NOT NULL,
    file_id     INTEGER NOT NULL REFERENCES import_files (id),
    body        TEXT NOT NULL,     -- the credited lines, JSON
    created_at  REAL NOT NULL,
    UNIQUE (order_ref, credit_key)
);
