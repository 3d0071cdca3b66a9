-- Deploy contextinject:grants/app to pg
-- ci_app, the API and workers: DML under RLS. Tenants are created and deleted by ci_admin
-- (sign-up, off-boarding), so the app may only read and update its own tenant row; audit_logs
-- is append-only: no UPDATE, no DELETE.
BEGIN;
SET LOCAL lock_timeout = '5s';

GRANT SELECT, INSERT, UPDATE, DELETE ON public.users, public.api_keys, public.projects, public.connectors, public.documents,
    public.chunks, public.query_logs, public.usage_events, public.conversations TO ci_app;
GRANT SELECT, UPDATE ON public.tenants TO ci_app;
GRANT SELECT, INSERT ON public.audit_logs TO ci_app;
GRANT USAGE ON TYPE public.plan, public.region, public.role, public.document_status, public.connector_type, public.connector_status, public.api_key_env TO ci_app;
GRANT EXECUTE ON FUNCTION public.current_tenant_id() TO ci_app;

COMMIT;
