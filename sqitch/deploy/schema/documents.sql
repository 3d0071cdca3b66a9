-- Deploy contextinject:schema/documents to pg
-- The spec's documents table, with its foreign keys made tenant-safe: the spec's single-column
-- references would let a row name another tenant's project or connector.
BEGIN;
SET LOCAL lock_timeout = '5s';

CREATE TABLE public.documents (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    tenant_id uuid NOT NULL,
    project_id uuid NOT NULL,
    connector_id uuid,
    -- Kept when the connector is deleted: where a document came from outlives the connector.
    connector_type public.connector_type NOT NULL,
    external_id varchar(255),
    title text NOT NULL,
    source_url text,
    mime_type varchar(100) NOT NULL,
    size_bytes integer DEFAULT 0 NOT NULL,
    content_hash varchar(64) NOT NULL,
    status public.document_status DEFAULT 'pending' NOT NULL,
    chunk_count integer DEFAULT 0 NOT NULL,
    token_count integer DEFAULT 0 NOT NULL,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    access_control jsonb DEFAULT '{"isPublic": false}'::jsonb NOT NULL,
    error_message text,
    created_at timestamptz DEFAULT now() NOT NULL,
    updated_at timestamptz DEFAULT now() NOT NULL,
    indexed_at timestamptz,
    deleted_at timestamptz,
    CONSTRAINT documents_pkey PRIMARY KEY (id),
    -- Target of chunks' foreign key, which carries project_id so a chunk's denormalized
    -- tenant and project must be its document's.
    CONSTRAINT documents_tenant_id_project_id_id_key UNIQUE (tenant_id, project_id, id),
    CONSTRAINT documents_tenant_id_fkey FOREIGN KEY (tenant_id)
        REFERENCES public.tenants (id) ON DELETE CASCADE,
    -- Composite: the project must be the document's tenant's.
    CONSTRAINT documents_tenant_id_project_id_fkey FOREIGN KEY (tenant_id, project_id)
        REFERENCES public.projects (tenant_id, id) ON DELETE CASCADE,
    -- Composite with project_id: the connector must be the document's tenant's and feed the
    -- document's project. Deleting the connector nulls connector_id only (PG 15+); a plain
    -- SET NULL would null tenant_id and project_id too and fail on NOT NULL. Not checked while
    -- connector_id is NULL (MATCH SIMPLE), which is every direct upload.
    CONSTRAINT documents_tenant_id_project_id_connector_id_fkey
        FOREIGN KEY (tenant_id, project_id, connector_id)
        REFERENCES public.connectors (tenant_id, project_id, id) ON DELETE SET NULL (connector_id)
);

CREATE INDEX documents_tenant_project_idx ON public.documents (tenant_id, project_id);
CREATE INDEX documents_status_idx ON public.documents (status);
CREATE INDEX documents_content_hash_idx ON public.documents (tenant_id, content_hash);
CREATE INDEX documents_external_id_idx ON public.documents (tenant_id, external_id);
-- Not in the spec: without it, deleting a connector scans all of its project's documents to
-- null their connector_id. It also serves "documents of a connector".
CREATE INDEX documents_connector_idx ON public.documents (tenant_id, connector_id)
    WHERE connector_id IS NOT NULL;

CREATE TRIGGER documents_set_updated_at
    BEFORE UPDATE ON public.documents
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

COMMIT;
