-- Deploy contextinject:schema/connectors to pg
-- A connector syncs one external source (a Notion workspace, a Slack channel set, a crawl root)
-- into one project. The spec only sketches it; docs/schema.md gives the design.
BEGIN;
SET LOCAL lock_timeout = '5s';

CREATE TABLE public.connectors (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    tenant_id uuid NOT NULL,
    project_id uuid NOT NULL,
    type public.connector_type NOT NULL,
    name varchar(255) NOT NULL,
    status public.connector_status DEFAULT 'active' NOT NULL,
    -- What to sync and how often; never secrets, which go in encrypted_credentials.
    config jsonb DEFAULT '{}'::jsonb NOT NULL,
    -- OAuth tokens or API secrets, encrypted by the application (envelope encryption) before
    -- they reach the database, so neither a dump nor a support read exposes them.
    encrypted_credentials bytea,
    -- The source's incremental cursor (Slack cursor, Notion last_edited_time, crawl frontier):
    -- a resumed sync starts where the last one stopped instead of re-reading the source.
    sync_state jsonb DEFAULT '{}'::jsonb NOT NULL,
    last_synced_at timestamptz,
    next_sync_at timestamptz,
    error_message text,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamptz DEFAULT now() NOT NULL,
    updated_at timestamptz DEFAULT now() NOT NULL,
    CONSTRAINT connectors_pkey PRIMARY KEY (id),
    -- Target of documents' foreign key, which carries project_id so a document a connector
    -- brings in lands in the connector's own project; also serves "connectors of a project".
    CONSTRAINT connectors_tenant_id_project_id_id_key UNIQUE (tenant_id, project_id, id),
    CONSTRAINT connectors_tenant_id_fkey FOREIGN KEY (tenant_id)
        REFERENCES public.tenants (id) ON DELETE CASCADE,
    -- Composite: a connector cannot be attached to another tenant's project.
    CONSTRAINT connectors_tenant_id_project_id_fkey FOREIGN KEY (tenant_id, project_id)
        REFERENCES public.projects (tenant_id, id) ON DELETE CASCADE
);

-- The sync scheduler (cross-tenant) polls for due connectors; paused, failed and disconnected
-- ones are never due, so they stay out of the index.
CREATE INDEX connectors_next_sync_idx ON public.connectors (next_sync_at) WHERE status = 'active';

CREATE TRIGGER connectors_set_updated_at
    BEFORE UPDATE ON public.connectors
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

COMMIT;
