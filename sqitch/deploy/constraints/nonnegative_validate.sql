-- Deploy contextinject:constraints/nonnegative_validate to pg
-- VALIDATE takes SHARE UPDATE EXCLUSIVE: reads and writes continue while old rows are checked.
BEGIN;
SET LOCAL lock_timeout = '5s';

ALTER TABLE public.documents VALIDATE CONSTRAINT documents_size_bytes_nonnegative;
ALTER TABLE public.documents VALIDATE CONSTRAINT documents_chunk_count_nonnegative;
ALTER TABLE public.documents VALIDATE CONSTRAINT documents_token_count_nonnegative;
ALTER TABLE public.chunks VALIDATE CONSTRAINT chunks_token_count_nonnegative;
ALTER TABLE public.chunks VALIDATE CONSTRAINT chunks_chunk_index_nonnegative;
ALTER TABLE public.query_logs VALIDATE CONSTRAINT query_logs_result_count_nonnegative;
ALTER TABLE public.query_logs VALIDATE CONSTRAINT query_logs_prompt_tokens_nonnegative;
ALTER TABLE public.query_logs VALIDATE CONSTRAINT query_logs_completion_tokens_nonnegative;
ALTER TABLE public.query_logs VALIDATE CONSTRAINT query_logs_latency_ms_nonnegative;

COMMIT;
