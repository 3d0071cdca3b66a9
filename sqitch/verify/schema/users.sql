-- Verify contextinject:schema/users on pg
BEGIN;

SELECT id, tenant_id, email, name, role, password_hash, email_verified, last_login_at,
       created_at, updated_at
FROM public.users
WHERE FALSE;

DO $$
BEGIN
    IF (SELECT count(*) FROM pg_catalog.pg_constraint
        WHERE conrelid = 'public.users'::regclass
          AND conname IN ('users_pkey', 'users_tenant_id_id_key', 'users_tenant_id_fkey')) <> 3 THEN
        RAISE EXCEPTION 'public.users: a key or foreign key is missing';
    END IF;
    IF (SELECT count(*) FROM pg_catalog.pg_indexes
        WHERE schemaname = 'public' AND tablename = 'users'
          AND indexname IN ('users_tenant_idx', 'users_email_idx')) <> 2 THEN
        RAISE EXCEPTION 'public.users: an index of the spec is missing';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_trigger
                   WHERE tgrelid = 'public.users'::regclass
                     AND tgname = 'users_set_updated_at') THEN
        RAISE EXCEPTION 'public.users: trigger users_set_updated_at missing';
    END IF;
END
$$;

ROLLBACK;
