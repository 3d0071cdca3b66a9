-- Deploy contextinject:extensions to pg
-- The spec's init-extensions.sql, in the schema `extensions` (the contract's), never in public:
-- an extension's script runs as the superuser with its schema in search_path, so that schema
-- must be writable by no one else. The image creates the schema and all four extensions as the
-- superuser (initdb/20-create-extensions.sql), so here they are no-ops that still fail loudly on
-- a foreign target where no superuser created them.
BEGIN;
SET LOCAL lock_timeout = '5s';

CREATE EXTENSION IF NOT EXISTS vector WITH SCHEMA extensions;
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA extensions;
CREATE EXTENSION IF NOT EXISTS "uuid-ossp" WITH SCHEMA extensions;
CREATE EXTENSION IF NOT EXISTS pg_stat_statements WITH SCHEMA extensions;

COMMIT;
