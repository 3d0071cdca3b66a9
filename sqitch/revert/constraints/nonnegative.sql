-- Revert contextinject:constraints/nonnegative from pg
BEGIN;
SET LOCAL lock_timeout = '5s';

ALTER TABLE public.documents
    DROP CONSTRAINT documents_size_bytes_nonnegative,
    DROP CONSTRAINT documents_chunk_count_nonnegative,
    DROP CONSTRAINT documents_token_count_nonnegative;
ALTER TABLE public.chunks
    DROP CONSTRAINT chunks_token_count_nonnegative,
    DROP CONSTRAINT chunks_chunk_index_nonnegative;
ALTER TABLE public.query_logs
    DROP CONSTRAINT query_logs_result_count_nonnegative,
    DROP CONSTRAINT query_logs_prompt_tokens_nonnegative,
    DROP CONSTRAINT query_logs_completion_tokens_nonnegative,
    DROP CONSTRAINT query_logs_latency_ms_nonnegative;

COMMIT;
