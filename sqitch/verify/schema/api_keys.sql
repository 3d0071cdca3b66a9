-- Verify contextinject:schema/api_keys on pg
BEGIN;

SELECT id, tenant_id, key_hash, prefix, name, scopes, environment, last_used_at, expires_at,
       created_at
FROM public.api_keys
WHERE FALSE;

DO $$
BEGIN
    IF (SELECT count(*) FROM pg_catalog.pg_constraint
        WHERE conrelid = 'public.api_keys'::regclass
          AND conname IN ('api_keys_pkey', 'api_keys_tenant_id_id_key',
                          'api_keys_tenant_id_fkey')) <> 3 THEN
        RAISE EXCEPTION 'public.api_keys: a key or foreign key is missing';
    END IF;
    IF (SELECT count(*) FROM pg_catalog.pg_indexes
        WHERE schemaname = 'public' AND tablename = 'api_keys'
          AND indexname IN ('api_keys_hash_idx', 'api_keys_tenant_idx')) <> 2 THEN
        RAISE EXCEPTION 'public.api_keys: an index of the spec is missing';
    END IF;
    IF NOT (SELECT indisunique FROM pg_catalog.pg_index
            WHERE indexrelid = 'public.api_keys_hash_idx'::regclass) THEN
        RAISE EXCEPTION 'public.api_keys: api_keys_hash_idx is not unique';
    END IF;
END
$$;

ROLLBACK;
