-- Verify contextinject:types/document_status on pg
BEGIN;

-- The cast fails when the type is missing. Containment, not equality: a later change may add a
-- label with ALTER TYPE ... ADD VALUE and this script must still pass then.
DO $$
BEGIN
    IF NOT enum_range(NULL::public.document_status)::text[] @> ARRAY['pending', 'processing', 'embedding', 'indexed', 'failed', 'deleted'] THEN
        RAISE EXCEPTION 'type public.document_status lacks labels of the spec: has %',
            enum_range(NULL::public.document_status);
    END IF;
END
$$;

ROLLBACK;
