-- Verify contextinject:constraints/nonnegative on pg
BEGIN;

-- Each rule by name, on its table, present.
SELECT 1 / (count(*) = 9)::int
FROM pg_catalog.pg_constraint
WHERE contype = 'c' AND connamespace = 'public'::regnamespace
  -- A partition's copy of its parent's check (partitions/*) is not another rule.
  AND conrelid NOT IN (SELECT oid FROM pg_catalog.pg_class WHERE relispartition)
  AND conname IN ('documents_size_bytes_nonnegative',
                  'documents_chunk_count_nonnegative',
                  'documents_token_count_nonnegative',
                  'chunks_token_count_nonnegative',
                  'chunks_chunk_index_nonnegative',
                  'query_logs_result_count_nonnegative',
                  'query_logs_prompt_tokens_nonnegative',
                  'query_logs_completion_tokens_nonnegative',
                  'query_logs_latency_ms_nonnegative');

ROLLBACK;
