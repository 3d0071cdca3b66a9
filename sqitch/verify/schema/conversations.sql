-- Verify contextinject:schema/conversations on pg
BEGIN;

SELECT id, tenant_id, project_id, user_id, external_user_id, title, messages, metadata,
       created_at, updated_at
FROM public.conversations
WHERE FALSE;

DO $$
BEGIN
    IF (SELECT count(*) FROM pg_catalog.pg_constraint
        WHERE conrelid = 'public.conversations'::regclass
          AND conname IN ('conversations_pkey', 'conversations_tenant_id_project_id_id_key',
                          'conversations_tenant_id_fkey',
                          'conversations_tenant_id_project_id_fkey',
                          'conversations_tenant_id_user_id_fkey')) <> 5 THEN
        RAISE EXCEPTION 'public.conversations: a key or foreign key is missing';
    END IF;
    IF (SELECT count(*) FROM pg_catalog.pg_indexes
        WHERE schemaname = 'public' AND tablename = 'conversations'
          AND indexname IN ('conversations_user_idx',
                            'conversations_external_user_idx')) <> 2 THEN
        RAISE EXCEPTION 'public.conversations: an index is missing';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_trigger
                   WHERE tgrelid = 'public.conversations'::regclass
                     AND tgname = 'conversations_set_updated_at') THEN
        RAISE EXCEPTION 'public.conversations: trigger conversations_set_updated_at missing';
    END IF;
END
$$;

ROLLBACK;
