-- Verify contextinject:schema/documents on pg
BEGIN;

SELECT id, tenant_id, project_id, connector_id, connector_type, external_id, title, source_url,
       mime_type, size_bytes, content_hash, status, chunk_count, token_count, metadata,
       access_control, error_message, created_at, updated_at, indexed_at, deleted_at
FROM public.documents
WHERE FALSE;

DO $$
BEGIN
    IF (SELECT count(*) FROM pg_catalog.pg_constraint
        WHERE conrelid = 'public.documents'::regclass
          AND conname IN ('documents_pkey', 'documents_tenant_id_project_id_id_key',
                          'documents_tenant_id_fkey', 'documents_tenant_id_project_id_fkey',
                          'documents_tenant_id_project_id_connector_id_fkey')) <> 5 THEN
        RAISE EXCEPTION 'public.documents: a key or foreign key is missing';
    END IF;
    IF (SELECT count(*) FROM pg_catalog.pg_indexes
        WHERE schemaname = 'public' AND tablename = 'documents'
          AND indexname IN ('documents_tenant_project_idx', 'documents_status_idx',
                            'documents_content_hash_idx', 'documents_external_id_idx',
                            'documents_connector_idx')) <> 5 THEN
        RAISE EXCEPTION 'public.documents: an index is missing';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_trigger
                   WHERE tgrelid = 'public.documents'::regclass
                     AND tgname = 'documents_set_updated_at') THEN
        RAISE EXCEPTION 'public.documents: trigger documents_set_updated_at missing';
    END IF;
END
$$;

ROLLBACK;
