-- Revert contextinject:grants/app_tenant_columns from pg
BEGIN;
SET LOCAL lock_timeout = '5s';

REVOKE UPDATE (name) ON public.tenants FROM ci_app;
GRANT UPDATE ON public.tenants TO ci_app;

COMMIT;
