-- Verify contextinject:types/plan on pg
BEGIN;

-- The cast fails when the type is missing. Containment, not equality: a later change may add a
-- label with ALTER TYPE ... ADD VALUE and this script must still pass then.
DO $$
BEGIN
    IF NOT enum_range(NULL::public.plan)::text[] @> ARRAY['free', 'starter', 'pro', 'enterprise'] THEN
        RAISE EXCEPTION 'type public.plan lacks labels of the spec: has %',
            enum_range(NULL::public.plan);
    END IF;
END
$$;

ROLLBACK;
