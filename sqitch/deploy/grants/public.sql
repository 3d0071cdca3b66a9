-- Deploy contextinject:grants/public to pg
-- PUBLIC gets nothing on our objects: PostgreSQL grants EXECUTE on functions and USAGE on types
-- to PUBLIC by default, so take those back now and for every object ci_owner creates later.
-- Each role then receives exactly what it needs in grants/<role>.
BEGIN;
SET LOCAL lock_timeout = '5s';

REVOKE EXECUTE ON FUNCTION public.set_updated_at(), public.current_tenant_id() FROM PUBLIC;
REVOKE USAGE ON TYPE public.plan, public.region, public.role, public.document_status, public.connector_type, public.connector_status, public.api_key_env FROM PUBLIC;
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE USAGE ON TYPES FROM PUBLIC;

COMMIT;
