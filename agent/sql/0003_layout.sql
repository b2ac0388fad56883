-- One home for the work re-open rule: the trigger goes, agent/journal/work.py's REOPEN statement
-- runs in the same transaction as the deliveries that name a resource (true inserts only, as before).
DROP TRIGGER deliveries_hint_work;

-- An order's links and intents carry its id, so one indexed read returns all of an order's state.
ALTER TABLE links ADD COLUMN order_id TEXT;
UPDATE links SET order_id = woo_id WHERE kind IN ('order', 'payment');
UPDATE links SET order_id = CAST(json_extract(data, '$.order_id') AS TEXT) WHERE kind = 'refund';
UPDATE links SET order_id = (SELECT r.order_id FROM links r WHERE r.kind = 'refund' AND r.woo_id = links.woo_id)
WHERE kind = 'payout';
CREATE INDEX links_order ON links (order_id);

ALTER TABLE intents ADD COLUMN order_id TEXT;
-- An intent's key is "<verb>:<reference>" and its document's link carries the same reference.
UPDATE intents SET order_id = (
    SELECT l.order_id FROM links l WHERE l.reference = substr(intents.key, instr(intents.key, ':') + 1)
    AND l.order_id IS NOT NULL LIMIT 1
);
-- A create-invoice intent whose answer was lost has no link yet: the default reference names the order.
UPDATE intents SET order_id = substr(key, length('create-invoice:woo-order-') + 1)
WHERE order_id IS NULL AND key GLOB 'create-invoice:woo-order-[0-9]*'
  AND substr(key, length('create-invoice:woo-order-') + 1) NOT GLOB '*[^0-9]*';
-- Likewise a payment registration whose answer was lost before its link was written.
UPDATE intents SET order_id = substr(key, 28, length(key) - 27 - 8)
WHERE order_id IS NULL AND key GLOB 'register-payment:woo-order-[0-9]*-payment'
  AND substr(key, 28, length(key) - 27 - 8) NOT GLOB '*[^0-9]*';
CREATE INDEX intents_order ON intents (order_id);
