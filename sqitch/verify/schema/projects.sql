-- Verify contextinject:schema/projects on pg
BEGIN;

SELECT id, tenant_id, name, description, settings, metadata, created_at, updated_at
FROM public.projects
WHERE FALSE;

SET LOCAL expect.relation = 'public.projects';
SET LOCAL expect.constraints = 'projects_pkey, projects_tenant_id_id_key, '
    'projects_tenant_id_name_key, projects_tenant_id_fkey';
SET LOCAL expect.triggers = 'projects_set_updated_at';
\ir ../../lib/expect_table.sql

ROLLBACK;
