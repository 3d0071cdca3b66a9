-- Deploy contextinject:indexes/chunks_embedding_hnsw to pg
-- Non-transactional: CREATE INDEX CONCURRENTLY cannot run in a transaction.
-- The spec's HNSW cosine index on chunks.embedding. Concurrently, because on a database that
-- already holds chunks the build takes minutes to hours and a plain CREATE INDEX would block
-- ingestion (every INSERT into chunks) for all of it.

-- The build runs as long as it needs to, and waits as long as it needs to: its SHARE UPDATE
-- EXCLUSIVE lock blocks no reads or writes while queued, and its later waits for older
-- transactions are lock waits too, where a timeout would leave an INVALID index behind.
SET statement_timeout = 0;
SET lock_timeout = 0;

-- A build that was interrupted (crash, cancel, a failed earlier deploy) leaves an INVALID index
-- that IF NOT EXISTS would mistake for a finished one. Drop it first; no row means none.
SELECT format('DROP INDEX CONCURRENTLY IF EXISTS %I.%I', n.nspname, c.relname)
FROM pg_catalog.pg_index AS i
JOIN pg_catalog.pg_class AS c ON c.oid = i.indexrelid
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = 'public'
  AND c.relname = 'chunks_embedding_hnsw_idx'
  AND NOT i.indisvalid
\gexec

-- m and ef_construction are the spec's; cosine because the embedding model's vectors are
-- compared by angle. Rows without an embedding (Qdrant tenants) are not indexed by HNSW.
CREATE INDEX CONCURRENTLY IF NOT EXISTS chunks_embedding_hnsw_idx
    ON public.chunks USING hnsw (embedding extensions.vector_cosine_ops)
    WITH (m = 16, ef_construction = 200);
