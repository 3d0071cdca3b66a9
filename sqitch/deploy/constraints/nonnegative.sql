-- Deploy contextinject:constraints/nonnegative to pg
-- Counts, sizes, indexes and durations are never negative: a negative size_bytes or token
-- count would corrupt usage totals and plan-limit checks that sum them. The write fails with
-- 23514 naming the rule, <table>_<column>_nonnegative. latency_ms stays NULL-able (NULL:
-- no latency measured). usage_events.quantity has had its check since schema/usage_events.
-- NOT VALID: existing rows are not scanned under the ACCESS EXCLUSIVE lock;
-- nonnegative_validate checks them without blocking.
BEGIN;
SET LOCAL lock_timeout = '5s';

ALTER TABLE public.documents
    ADD CONSTRAINT documents_size_bytes_nonnegative
        CHECK (size_bytes >= 0) NOT VALID,
    ADD CONSTRAINT documents_chunk_count_nonnegative
        CHECK (chunk_count >= 0) NOT VALID,
    ADD CONSTRAINT documents_token_count_nonnegative
        CHECK (token_count >= 0) NOT VALID;
ALTER TABLE public.chunks
    ADD CONSTRAINT chunks_token_count_nonnegative
        CHECK (token_count >= 0) NOT VALID,
    ADD CONSTRAINT chunks_chunk_index_nonnegative
        CHECK (chunk_index >= 0) NOT VALID;
ALTER TABLE public.query_logs
    ADD CONSTRAINT query_logs_result_count_nonnegative
        CHECK (result_count >= 0) NOT VALID,
    ADD CONSTRAINT query_logs_prompt_tokens_nonnegative
        CHECK (prompt_tokens >= 0) NOT VALID,
    ADD CONSTRAINT query_logs_completion_tokens_nonnegative
        CHECK (completion_tokens >= 0) NOT VALID,
    ADD CONSTRAINT query_logs_latency_ms_nonnegative
        CHECK (latency_ms >= 0) NOT VALID;

COMMIT;
