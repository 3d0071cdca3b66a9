-- Verify contextinject:schema/chunks on pg
BEGIN;

SELECT id, document_id, tenant_id, project_id, content, token_count, chunk_index, vector_id,
       metadata, created_at, embedding
FROM public.chunks
WHERE FALSE;

DO $$
BEGIN
    IF (SELECT count(*) FROM pg_catalog.pg_constraint
        WHERE conrelid = 'public.chunks'::regclass
          AND conname IN ('chunks_pkey',
                          'chunks_tenant_id_project_id_document_id_fkey')) <> 2 THEN
        RAISE EXCEPTION 'public.chunks: the primary key or the foreign key is missing';
    END IF;
    IF (SELECT count(*) FROM pg_catalog.pg_indexes
        WHERE schemaname = 'public' AND tablename = 'chunks'
          AND indexname IN ('chunks_document_idx', 'chunks_tenant_project_idx',
                            'chunks_vector_id_idx')) <> 3 THEN
        RAISE EXCEPTION 'public.chunks: an index of the spec is missing';
    END IF;
    -- The dimension is part of the contract with the embedding model (1024).
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_attribute
                   WHERE attrelid = 'public.chunks'::regclass AND attname = 'embedding'
                     AND atttypid = 'extensions.vector'::regtype AND atttypmod = 1024) THEN
        RAISE EXCEPTION 'public.chunks: embedding is not vector(1024)';
    END IF;
END
$$;

ROLLBACK;
