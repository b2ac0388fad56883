-- The units of this SKU sold in the shop and not yet booked when the stock run last decided it (sold_qty is the
-- stock owner's sum, for the echo check): the shop's number depends on it as much as on Dynaccount's, so a change
-- in it alone (an order the journal heard of late, a booking it recorded late, a cancel) makes the SKU due again.
ALTER TABLE stock_items ADD COLUMN own_sold INTEGER;
