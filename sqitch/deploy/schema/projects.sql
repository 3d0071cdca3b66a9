-- Deploy contextinject:schema/projects to pg
-- A project is one knowledge base inside a tenant: its own documents, connectors, conversations
-- and retrieval settings. The spec only sketches it; docs/schema.md gives the design.
BEGIN;
SET LOCAL lock_timeout = '5s';

CREATE TABLE public.projects (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    tenant_id uuid NOT NULL,
    name varchar(255) NOT NULL,
    description text,
    -- Pipeline settings the workers read (chunk size, embedding model, top_k, vector store);
    -- kept apart from metadata so user labels can never change how a project is indexed.
    settings jsonb DEFAULT '{}'::jsonb NOT NULL,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamptz DEFAULT now() NOT NULL,
    updated_at timestamptz DEFAULT now() NOT NULL,
    CONSTRAINT projects_pkey PRIMARY KEY (id),
    -- Target of the composite foreign keys that keep a child's project in the child's tenant;
    -- also serves "projects of a tenant".
    CONSTRAINT projects_tenant_id_id_key UNIQUE (tenant_id, id),
    -- Names are what people pick a project by; two alike in one tenant would be ambiguous.
    -- It is also the ON CONFLICT target that lets a seed run twice.
    CONSTRAINT projects_tenant_id_name_key UNIQUE (tenant_id, name),
    CONSTRAINT projects_tenant_id_fkey FOREIGN KEY (tenant_id)
        REFERENCES public.tenants (id) ON DELETE CASCADE
);

CREATE TRIGGER projects_set_updated_at
    BEFORE UPDATE ON public.projects
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

COMMIT;
