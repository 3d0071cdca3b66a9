-- Verify contextinject:types/api_key_env on pg
BEGIN;

-- The cast fails when the type is missing. Containment, not equality: a later change may add a
-- label with ALTER TYPE ... ADD VALUE and this script must still pass then.
DO $$
BEGIN
    IF NOT enum_range(NULL::public.api_key_env)::text[] @> ARRAY['live', 'test'] THEN
        RAISE EXCEPTION 'type public.api_key_env lacks labels of the spec: has %',
            enum_range(NULL::public.api_key_env);
    END IF;
END
$$;

ROLLBACK;
