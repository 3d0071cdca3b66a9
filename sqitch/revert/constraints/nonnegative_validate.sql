-- Revert contextinject:constraints/nonnegative_validate from pg
-- Nothing to undo: a validated constraint is the same constraint; its deploy only checked rows.
BEGIN;
SET LOCAL lock_timeout = '5s';

COMMIT;
