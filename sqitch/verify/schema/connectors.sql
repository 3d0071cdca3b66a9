-- Verify contextinject:schema/connectors on pg
BEGIN;

SELECT id, tenant_id, project_id, type, name, status, config, encrypted_credentials, sync_state,
       last_synced_at, next_sync_at, error_message, metadata, created_at, updated_at
FROM public.connectors
WHERE FALSE;

DO $$
BEGIN
    IF (SELECT count(*) FROM pg_catalog.pg_constraint
        WHERE conrelid = 'public.connectors'::regclass
          AND conname IN ('connectors_pkey', 'connectors_tenant_id_project_id_id_key',
                          'connectors_tenant_id_fkey',
                          'connectors_tenant_id_project_id_fkey')) <> 4 THEN
        RAISE EXCEPTION 'public.connectors: a key or foreign key is missing';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_indexes
                   WHERE schemaname = 'public' AND tablename = 'connectors'
                     AND indexname = 'connectors_next_sync_idx') THEN
        RAISE EXCEPTION 'public.connectors: index connectors_next_sync_idx missing';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_trigger
                   WHERE tgrelid = 'public.connectors'::regclass
                     AND tgname = 'connectors_set_updated_at') THEN
        RAISE EXCEPTION 'public.connectors: trigger connectors_set_updated_at missing';
    END IF;
END
$$;

ROLLBACK;
