-- Verify contextinject:schema/conversations on pg
BEGIN;

SELECT id, tenant_id, project_id, user_id, external_user_id, title, messages, metadata,
       created_at, updated_at
FROM public.conversations
WHERE FALSE;

SET LOCAL expect.relation = 'public.conversations';
SET LOCAL expect.constraints = 'conversations_pkey, conversations_tenant_id_project_id_id_key, '
    'conversations_tenant_id_fkey, conversations_tenant_id_project_id_fkey, '
    'conversations_tenant_id_user_id_fkey';
SET LOCAL expect.indexes = 'conversations_user_idx, conversations_external_user_idx';
SET LOCAL expect.triggers = 'conversations_set_updated_at';
\ir ../../lib/expect_table.sql

ROLLBACK;
