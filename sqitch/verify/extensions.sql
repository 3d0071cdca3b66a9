-- Verify contextinject:extensions on pg
BEGIN;

DO $$
BEGIN
    IF (SELECT count(*) FROM pg_catalog.pg_extension
        WHERE extname IN ('vector', 'pg_trgm', 'uuid-ossp', 'pg_stat_statements')
          AND extnamespace = 'extensions'::pg_catalog.regnamespace) <> 4 THEN
        RAISE EXCEPTION 'extensions missing or not in schema extensions: need vector, pg_trgm, uuid-ossp, pg_stat_statements';
    END IF;
END
$$;
-- The spec's own check: vector operations work.
SELECT 1 / (extensions.vector_dims('[1,2,3]'::extensions.vector) - 2);

ROLLBACK;
