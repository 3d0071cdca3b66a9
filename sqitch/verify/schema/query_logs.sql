-- Verify contextinject:schema/query_logs on pg
BEGIN;

SELECT id, tenant_id, project_id, conversation_id, user_id, api_key_id, query, response,
       retrieved_chunks, result_count, model, prompt_tokens, completion_tokens, latency_ms,
       error_message, metadata, created_at
FROM public.query_logs
WHERE FALSE;

DO $$
BEGIN
    IF (SELECT count(*) FROM pg_catalog.pg_constraint
        WHERE conrelid = 'public.query_logs'::regclass
          AND conname IN ('query_logs_pkey', 'query_logs_tenant_id_fkey',
                          'query_logs_tenant_id_project_id_fkey',
                          'query_logs_tenant_id_project_id_conversation_id_fkey',
                          'query_logs_tenant_id_user_id_fkey',
                          'query_logs_tenant_id_api_key_id_fkey')) <> 6 THEN
        RAISE EXCEPTION 'public.query_logs: a key or foreign key is missing';
    END IF;
    IF (SELECT count(*) FROM pg_catalog.pg_indexes
        WHERE schemaname = 'public' AND tablename = 'query_logs'
          AND indexname IN ('query_logs_tenant_project_idx', 'query_logs_created_at_idx',
                            'query_logs_conversation_idx', 'query_logs_user_idx',
                            'query_logs_api_key_idx')) <> 5 THEN
        RAISE EXCEPTION 'public.query_logs: an index is missing';
    END IF;
END
$$;

ROLLBACK;
