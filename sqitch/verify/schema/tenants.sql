-- Verify contextinject:schema/tenants on pg
BEGIN;

SELECT id, name, slug, plan, region, settings, stripe_customer_id, created_at, updated_at
FROM public.tenants
WHERE FALSE;

SET LOCAL expect.relation = 'public.tenants';
SET LOCAL expect.constraints = 'tenants_pkey, tenants_slug_key';
SET LOCAL expect.triggers = 'tenants_set_updated_at';
\ir ../../lib/expect_table.sql

ROLLBACK;
