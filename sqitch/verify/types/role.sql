-- Verify contextinject:types/role on pg
BEGIN;

-- The cast fails when the type is missing. Containment, not equality: a later change may add a
-- label with ALTER TYPE ... ADD VALUE and this script must still pass then.
DO $$
BEGIN
    IF NOT enum_range(NULL::public.role)::text[] @> ARRAY['owner', 'admin', 'member', 'viewer'] THEN
        RAISE EXCEPTION 'type public.role lacks labels of the spec: has %',
            enum_range(NULL::public.role);
    END IF;
END
$$;

ROLLBACK;
