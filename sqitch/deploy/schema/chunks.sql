-- Deploy contextinject:schema/chunks to pg
-- The spec's chunks table plus its optional pgvector column. The HNSW index on embedding is the
-- separate, last change indexes/chunks_embedding_hnsw: it must be built CONCURRENTLY.
BEGIN;
SET LOCAL lock_timeout = '5s';

CREATE TABLE public.chunks (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    document_id uuid NOT NULL,
    -- Denormalized (the spec's) so RLS and project-scoped search filter without a join; the
    -- foreign key below keeps both equal to the document's.
    tenant_id uuid NOT NULL,
    project_id uuid NOT NULL,
    content text NOT NULL,
    token_count integer NOT NULL,
    chunk_index integer NOT NULL,
    vector_id varchar(255) NOT NULL,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamptz DEFAULT now() NOT NULL,
    -- NULL unless the tenant's vector store is pgvector rather than Qdrant (the spec's optional
    -- column, created with the table instead of added later: the table is new and empty here).
    embedding extensions.vector(1024),
    CONSTRAINT chunks_pkey PRIMARY KEY (id),
    -- Replaces the spec's document_id-only reference: a chunk cannot name another tenant's
    -- document, nor carry a project other than its document's. ON UPDATE CASCADE lets the
    -- denormalized project_id follow a document moved to another project.
    CONSTRAINT chunks_tenant_id_project_id_document_id_fkey
        FOREIGN KEY (tenant_id, project_id, document_id)
        REFERENCES public.documents (tenant_id, project_id, id)
        ON DELETE CASCADE ON UPDATE CASCADE
);

-- Also what the cascade from documents uses to find a document's chunks.
CREATE INDEX chunks_document_idx ON public.chunks (document_id);
CREATE INDEX chunks_tenant_project_idx ON public.chunks (tenant_id, project_id);
CREATE INDEX chunks_vector_id_idx ON public.chunks (vector_id);

COMMIT;
