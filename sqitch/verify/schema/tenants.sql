-- Verify contextinject:schema/tenants on pg
BEGIN;

SELECT id, name, slug, plan, region, settings, stripe_customer_id, created_at, updated_at
FROM public.tenants
WHERE FALSE;

DO $$
BEGIN
    IF (SELECT count(*) FROM pg_catalog.pg_constraint
        WHERE conrelid = 'public.tenants'::regclass
          AND conname IN ('tenants_pkey', 'tenants_slug_key')) <> 2 THEN
        RAISE EXCEPTION 'public.tenants: primary key or slug key missing';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_trigger
                   WHERE tgrelid = 'public.tenants'::regclass
                     AND tgname = 'tenants_set_updated_at') THEN
        RAISE EXCEPTION 'public.tenants: trigger tenants_set_updated_at missing';
    END IF;
END
$$;

ROLLBACK;
