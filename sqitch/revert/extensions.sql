-- Revert contextinject:extensions from pg
-- Nothing to undo: the superuser created all four extensions (initdb/20-create-extensions.sql)
-- and owns them, so only it may drop them, and the schema keeps needing them anyway.
BEGIN;
SET LOCAL lock_timeout = '5s';

COMMIT;
