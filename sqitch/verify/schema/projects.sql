-- Verify contextinject:schema/projects on pg
BEGIN;

SELECT id, tenant_id, name, description, settings, metadata, created_at, updated_at
FROM public.projects
WHERE FALSE;

DO $$
BEGIN
    IF (SELECT count(*) FROM pg_catalog.pg_constraint
        WHERE conrelid = 'public.projects'::regclass
          AND conname IN ('projects_pkey', 'projects_tenant_id_id_key',
                          'projects_tenant_id_name_key', 'projects_tenant_id_fkey')) <> 4 THEN
        RAISE EXCEPTION 'public.projects: a key or foreign key is missing';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_trigger
                   WHERE tgrelid = 'public.projects'::regclass
                     AND tgname = 'projects_set_updated_at') THEN
        RAISE EXCEPTION 'public.projects: trigger projects_set_updated_at missing';
    END IF;
END
$$;

ROLLBACK;
