
    ALTER TABLE customers ADD COLUMN company TEXT;
    ALTER TABLE licenses ADD COLUMN order_id TEXT;
    ALTER TABLE licenses ADD COLUMN order_seq INTEGER CHECK (order_seq >= 1);
    CREATE UNIQUE INDEX licenses_order ON licenses (order_id, order_seq)
        WHERE order_id IS NOT NULL;
    