-- Verify contextinject:schema/api_keys on pg
BEGIN;

SELECT id, tenant_id, key_hash, prefix, name, scopes, environment, last_used_at, expires_at,
       created_at
FROM public.api_keys
WHERE FALSE;

SET LOCAL expect.relation = 'public.api_keys';
SET LOCAL expect.constraints = 'api_keys_pkey, api_keys_tenant_id_id_key, api_keys_tenant_id_fkey';
SET LOCAL expect.indexes = 'api_keys_hash_idx, api_keys_tenant_idx';
\ir ../../lib/expect_table.sql

SELECT 1 / indisunique::int  -- the hash look-up relies on it
FROM pg_catalog.pg_index WHERE indexrelid = 'public.api_keys_hash_idx'::regclass;

ROLLBACK;
