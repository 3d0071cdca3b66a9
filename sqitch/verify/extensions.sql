-- Verify contextinject:extensions on pg
BEGIN;

DO $$
BEGIN
    IF (SELECT count(*) FROM pg_catalog.pg_extension
        WHERE extname IN ('vector', 'pg_trgm', 'uuid-ossp', 'pg_stat_statements')) <> 4 THEN
        RAISE EXCEPTION 'extensions missing: need vector, pg_trgm, uuid-ossp, pg_stat_statements';
    END IF;
END
$$;
-- The spec's own check: vector operations work.
SELECT 1 / (public.vector_dims('[1,2,3]'::public.vector) - 2);

ROLLBACK;
