-- Revert contextinject:grants/public from pg
BEGIN;
SET LOCAL lock_timeout = '5s';

ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE ON TYPES TO PUBLIC;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT EXECUTE ON FUNCTIONS TO PUBLIC;
GRANT USAGE ON TYPE public.plan, public.region, public.role, public.document_status, public.connector_type, public.connector_status, public.api_key_env TO PUBLIC;
GRANT EXECUTE ON FUNCTION public.set_updated_at(), public.current_tenant_id() TO PUBLIC;

COMMIT;
