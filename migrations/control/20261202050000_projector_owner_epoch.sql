-- Fencing of projector leaders (issue 11): the instance that takes a projector's lock bumps its
-- row's owner epoch, and every batch it commits checks that the epoch is still the one it set.
-- A stale holder (frozen, partitioned, then back) finds a newer epoch and stops, its batch
-- rolled back.
ALTER TABLE read.projector_checkpoints
    ADD COLUMN owner_epoch bigint NOT NULL DEFAULT 0;
