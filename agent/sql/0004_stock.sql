-- Stock (Dynaccount is master): what Dynaccount said and what the agent last wrote, per SKU.
CREATE TABLE stock_items (
    sku          TEXT PRIMARY KEY,  -- Dynaccount product_id_ = WooCommerce SKU
    dyn_qty      TEXT,              -- Decimal as text: the quantity the shop should see (A-35 applied)
    dyn_time     TEXT,              -- Dynaccount's time_stock_change as read
    shop_id      INTEGER,           -- the product or variation carrying the SKU
    parent_id    INTEGER,           -- its parent (variations), 0 for products
    owner_id     INTEGER,           -- where stock is written: the parent when manage_stock is "parent"
    shop_qty     INTEGER,           -- the shop's quantity when last seen
    target_qty   INTEGER,           -- what the shop should show by Dynaccount (after the backorder rule)
    sold_qty     INTEGER,           -- units sold in the shop and not yet booked, when target_qty was set
    written_qty  INTEGER,           -- the quantity the agent last wrote
    written_at   REAL,
    echo_qty     INTEGER,           -- the quantity of a write under way or just made
    echo_pending INTEGER NOT NULL DEFAULT 0,  -- 1 until the product.updated of that write came back
    state        TEXT NOT NULL,     -- pending | ok | error | skipped | disagrees
    reason       TEXT,
    updated_at   REAL NOT NULL
);
CREATE INDEX stock_items_owner ON stock_items (owner_id);
CREATE INDEX stock_items_state ON stock_items (state);
