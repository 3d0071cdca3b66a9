-- Revert contextinject:extensions from pg
-- vector and pg_stat_statements stay: the superuser created them and only it may drop them.
BEGIN;
SET LOCAL lock_timeout = '5s';

DROP EXTENSION IF EXISTS "uuid-ossp";
DROP EXTENSION IF EXISTS pg_trgm;

COMMIT;
