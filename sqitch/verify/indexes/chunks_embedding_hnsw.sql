-- Verify contextinject:indexes/chunks_embedding_hnsw on pg
BEGIN;

-- An interrupted CONCURRENTLY build leaves an index that exists but is INVALID (never used by
-- the planner), so existence alone proves nothing.
DO $$
DECLARE
    idx record;
BEGIN
    SELECT i.indisvalid, am.amname, opc.opcname, a.attname, c.reloptions
    INTO idx
    FROM pg_catalog.pg_index AS i
    JOIN pg_catalog.pg_class AS c ON c.oid = i.indexrelid
    JOIN pg_catalog.pg_am AS am ON am.oid = c.relam
    JOIN pg_catalog.pg_opclass AS opc ON opc.oid = i.indclass[0]
    JOIN pg_catalog.pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
    WHERE i.indexrelid = to_regclass('public.chunks_embedding_hnsw_idx')
      AND i.indrelid = 'public.chunks'::regclass;

    IF NOT FOUND THEN
        RAISE EXCEPTION 'index public.chunks_embedding_hnsw_idx on public.chunks is missing';
    END IF;
    IF NOT idx.indisvalid THEN
        RAISE EXCEPTION 'index public.chunks_embedding_hnsw_idx is INVALID (interrupted build)';
    END IF;
    IF idx.amname <> 'hnsw' OR idx.opcname <> 'vector_cosine_ops' OR idx.attname <> 'embedding'
       OR NOT coalesce(idx.reloptions @> ARRAY['m=16', 'ef_construction=200'], false) THEN
        RAISE EXCEPTION 'index public.chunks_embedding_hnsw_idx is %/% on % with %, not the spec''s',
            idx.amname, idx.opcname, idx.attname, idx.reloptions;
    END IF;
END
$$;

ROLLBACK;
