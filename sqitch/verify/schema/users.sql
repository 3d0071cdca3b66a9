-- Verify contextinject:schema/users on pg
BEGIN;

SELECT id, tenant_id, email, name, role, password_hash, email_verified, last_login_at,
       created_at, updated_at
FROM public.users
WHERE FALSE;

SET LOCAL expect.relation = 'public.users';
SET LOCAL expect.constraints = 'users_pkey, users_tenant_id_id_key, users_tenant_id_fkey';
SET LOCAL expect.indexes = 'users_tenant_idx, users_email_idx';
SET LOCAL expect.triggers = 'users_set_updated_at';
\ir ../../lib/expect_table.sql

ROLLBACK;
