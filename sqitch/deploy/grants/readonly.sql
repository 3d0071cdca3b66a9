-- Deploy contextinject:grants/readonly to pg
-- ci_readonly, analytics and support reads: SELECT only, still under RLS.
BEGIN;
SET LOCAL lock_timeout = '5s';

GRANT SELECT ON public.users, public.api_keys, public.projects, public.connectors, public.documents,
    public.chunks, public.query_logs, public.usage_events, public.conversations TO ci_readonly;
GRANT SELECT ON public.tenants TO ci_readonly;
GRANT SELECT ON public.audit_logs TO ci_readonly;
GRANT USAGE ON TYPE public.plan, public.region, public.role, public.document_status, public.connector_type, public.connector_status, public.api_key_env TO ci_readonly;
GRANT EXECUTE ON FUNCTION public.current_tenant_id() TO ci_readonly;

COMMIT;
