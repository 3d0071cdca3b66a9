-- Deploy contextinject:extensions to pg
-- The spec's init-extensions.sql. vector and pg_stat_statements are not trusted extensions:
-- the image creates them as the superuser (initdb/20-create-extensions.sql), so here they are
-- no-ops that still fail loudly on a foreign target where no superuser created them.
BEGIN;
SET LOCAL lock_timeout = '5s';

CREATE EXTENSION IF NOT EXISTS vector WITH SCHEMA public;
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;
CREATE EXTENSION IF NOT EXISTS "uuid-ossp" WITH SCHEMA public;
CREATE EXTENSION IF NOT EXISTS pg_stat_statements WITH SCHEMA public;

COMMIT;
