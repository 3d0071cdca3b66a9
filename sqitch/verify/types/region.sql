-- Verify contextinject:types/region on pg
BEGIN;

-- The cast fails when the type is missing. Containment, not equality: a later change may add a
-- label with ALTER TYPE ... ADD VALUE and this script must still pass then.
DO $$
BEGIN
    IF NOT enum_range(NULL::public.region)::text[] @> ARRAY['us', 'eu', 'apac'] THEN
        RAISE EXCEPTION 'type public.region lacks labels of the spec: has %',
            enum_range(NULL::public.region);
    END IF;
END
$$;

ROLLBACK;
