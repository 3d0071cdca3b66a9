-- Verify contextinject:schema/usage_events on pg
BEGIN;

SELECT id, tenant_id, project_id, api_key_id, event_type, quantity, unit, idempotency_key,
       reported_at, metadata, created_at
FROM public.usage_events
WHERE FALSE;

DO $$
BEGIN
    IF (SELECT count(*) FROM pg_catalog.pg_constraint
        WHERE conrelid = 'public.usage_events'::regclass
          AND conname IN ('usage_events_pkey', 'usage_events_tenant_id_idempotency_key_key',
                          'usage_events_quantity_check', 'usage_events_tenant_id_fkey',
                          'usage_events_tenant_id_project_id_fkey',
                          'usage_events_tenant_id_api_key_id_fkey')) <> 6 THEN
        RAISE EXCEPTION 'public.usage_events: a key, check or foreign key is missing';
    END IF;
    IF (SELECT count(*) FROM pg_catalog.pg_indexes
        WHERE schemaname = 'public' AND tablename = 'usage_events'
          AND indexname IN ('usage_events_tenant_created_at_idx', 'usage_events_unreported_idx',
                            'usage_events_project_idx', 'usage_events_api_key_idx')) <> 4 THEN
        RAISE EXCEPTION 'public.usage_events: an index is missing';
    END IF;
END
$$;

ROLLBACK;
