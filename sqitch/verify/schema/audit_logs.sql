-- Verify contextinject:schema/audit_logs on pg
BEGIN;

SELECT id, tenant_id, user_id, api_key_id, action, resource_type, resource_id, metadata,
       ip_address, user_agent, created_at
FROM public.audit_logs
WHERE FALSE;

DO $$
BEGIN
    IF (SELECT count(*) FROM pg_catalog.pg_indexes
        WHERE schemaname = 'public' AND tablename = 'audit_logs'
          AND indexname IN ('audit_logs_pkey', 'audit_logs_tenant_idx',
                            'audit_logs_created_at_idx', 'audit_logs_action_idx')) <> 4 THEN
        RAISE EXCEPTION 'public.audit_logs: an index of the spec is missing';
    END IF;
END
$$;

ROLLBACK;
