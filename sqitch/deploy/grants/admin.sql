-- Deploy contextinject:grants/admin to pg
-- ci_admin, cross-tenant tooling (billing, support): DML on every tenant (BYPASSRLS), no DDL;
-- even it cannot rewrite or delete the audit trail.
BEGIN;
SET LOCAL lock_timeout = '5s';

GRANT SELECT, INSERT, UPDATE, DELETE ON public.users, public.api_keys, public.projects, public.connectors, public.documents,
    public.chunks, public.query_logs, public.usage_events, public.conversations TO ci_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.tenants TO ci_admin;
GRANT SELECT, INSERT ON public.audit_logs TO ci_admin;
GRANT USAGE ON TYPE public.plan, public.region, public.role, public.document_status, public.connector_type, public.connector_status, public.api_key_env TO ci_admin;
GRANT EXECUTE ON FUNCTION public.current_tenant_id() TO ci_admin;

COMMIT;
