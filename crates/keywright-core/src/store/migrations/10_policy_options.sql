
    ALTER TABLE policies ADD COLUMN expiration_strategy TEXT NOT NULL DEFAULT 'RESTRICT_ACCESS'
        CHECK (expiration_strategy IN ('RESTRICT_ACCESS', 'REVOKE_ACCESS', 'MAINTAIN_ACCESS',
                                       'ALLOW_ACCESS'));
    ALTER TABLE policies ADD COLUMN strict INTEGER NOT NULL DEFAULT 0 CHECK (strict IN (0, 1));
    ALTER TABLE policies ADD COLUMN offline_grace_seconds INTEGER
        CHECK (offline_grace_seconds > 0);
    ALTER TABLE policies ADD COLUMN allow_transfer INTEGER NOT NULL DEFAULT 1
        CHECK (allow_transfer IN (0, 1));
    ALTER TABLE licenses ADD COLUMN entitlements TEXT;
    