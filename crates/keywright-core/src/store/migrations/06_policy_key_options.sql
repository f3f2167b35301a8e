
    ALTER TABLE policies ADD COLUMN key_template TEXT;
    ALTER TABLE policies ADD COLUMN unsigned_key INTEGER NOT NULL DEFAULT 0
        CHECK (unsigned_key IN (0, 1));
    