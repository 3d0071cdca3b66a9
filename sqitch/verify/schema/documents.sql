-- Verify contextinject:schema/documents on pg
BEGIN;

SELECT id, tenant_id, project_id, connector_id, connector_type, external_id, title, source_url,
       mime_type, size_bytes, content_hash, status, chunk_count, token_count, metadata,
       access_control, error_message, created_at, updated_at, indexed_at, deleted_at
FROM public.documents
WHERE FALSE;

SET LOCAL expect.relation = 'public.documents';
SET LOCAL expect.constraints = 'documents_pkey, documents_tenant_id_project_id_id_key, '
    'documents_tenant_id_fkey, documents_tenant_id_project_id_fkey, '
    'documents_tenant_id_project_id_connector_id_fkey';
SET LOCAL expect.indexes = 'documents_tenant_project_idx, documents_status_idx, '
    'documents_content_hash_idx, documents_external_id_idx, documents_connector_idx';
SET LOCAL expect.triggers = 'documents_set_updated_at';
\ir ../../lib/expect_table.sql

ROLLBACK;
