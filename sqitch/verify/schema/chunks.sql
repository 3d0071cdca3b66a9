-- Verify contextinject:schema/chunks on pg
BEGIN;

SELECT id, document_id, tenant_id, project_id, content, token_count, chunk_index, vector_id,
       metadata, created_at, embedding
FROM public.chunks
WHERE FALSE;

SET LOCAL expect.relation = 'public.chunks';
SET LOCAL expect.constraints = 'chunks_pkey, chunks_tenant_id_project_id_document_id_fkey';
SET LOCAL expect.indexes = 'chunks_document_idx, chunks_tenant_project_idx, chunks_vector_id_idx';
\ir ../../lib/expect_table.sql

-- The dimension is part of the contract with the embedding model (1024).
SELECT 1 / count(*)
FROM pg_catalog.pg_attribute
WHERE attrelid = 'public.chunks'::regclass AND attname = 'embedding'
  AND atttypid = 'extensions.vector'::regtype AND atttypmod = 1024;

ROLLBACK;
