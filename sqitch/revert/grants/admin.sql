-- Revert contextinject:grants/admin from pg
BEGIN;
SET LOCAL lock_timeout = '5s';

REVOKE ALL ON public.tenants, public.users, public.api_keys, public.projects, public.connectors,
    public.documents, public.chunks, public.query_logs, public.usage_events, public.conversations,
    public.audit_logs FROM ci_admin;
REVOKE USAGE ON TYPE public.plan, public.region, public.role, public.document_status, public.connector_type, public.connector_status, public.api_key_env FROM ci_admin;
REVOKE EXECUTE ON FUNCTION public.current_tenant_id() FROM ci_admin;

COMMIT;
