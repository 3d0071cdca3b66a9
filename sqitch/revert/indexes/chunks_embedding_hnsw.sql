-- Revert contextinject:indexes/chunks_embedding_hnsw from pg
-- Non-transactional: DROP INDEX CONCURRENTLY cannot run in a transaction.
-- Concurrently, so dropping the index never blocks reads and writes on chunks while it waits.
SET statement_timeout = 0;
SET lock_timeout = 0;

DROP INDEX CONCURRENTLY IF EXISTS public.chunks_embedding_hnsw_idx;
