-- Verify contextinject:types/connector_type on pg
BEGIN;

-- The cast fails when the type is missing. Containment, not equality: a later change may add a
-- label with ALTER TYPE ... ADD VALUE and this script must still pass then.
DO $$
BEGIN
    IF NOT enum_range(NULL::public.connector_type)::text[] @> ARRAY[
        'notion', 'slack', 'gmail', 'github', 'confluence', 'jira', 'sharepoint',
        'google-drive', 'web-crawler', 'direct-upload'
    ] THEN
        RAISE EXCEPTION 'type public.connector_type lacks labels of the spec: has %',
            enum_range(NULL::public.connector_type);
    END IF;
END
$$;

ROLLBACK;
