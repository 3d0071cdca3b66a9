-- Deploy contextinject:schema/conversations to pg
-- A multi-turn chat against one project: the history that follow-up questions are answered
-- with. The spec only sketches it; docs/schema.md gives the design.
BEGIN;
SET LOCAL lock_timeout = '5s';

CREATE TABLE public.conversations (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    tenant_id uuid NOT NULL,
    project_id uuid NOT NULL,
    -- The dashboard user who chats; NULL when the conversation comes in through the API.
    user_id uuid,
    -- The API caller's own end-user id (opaque to us), so a customer can list one end-user's
    -- conversations without creating users here.
    external_user_id varchar(255),
    title varchar(255),
    -- The turns, [{role, content, sources, created_at}], read whole on every follow-up. A jsonb
    -- array, not a table: the spec fixes the table list, and a chat is read and appended as one.
    messages jsonb DEFAULT '[]'::jsonb NOT NULL,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamptz DEFAULT now() NOT NULL,
    updated_at timestamptz DEFAULT now() NOT NULL,
    CONSTRAINT conversations_pkey PRIMARY KEY (id),
    -- Target of query_logs' foreign key; also serves "conversations of a project".
    CONSTRAINT conversations_tenant_id_project_id_id_key UNIQUE (tenant_id, project_id, id),
    CONSTRAINT conversations_tenant_id_fkey FOREIGN KEY (tenant_id)
        REFERENCES public.tenants (id) ON DELETE CASCADE,
    -- Composite: the project and the user must be the conversation's tenant's.
    CONSTRAINT conversations_tenant_id_project_id_fkey FOREIGN KEY (tenant_id, project_id)
        REFERENCES public.projects (tenant_id, id) ON DELETE CASCADE,
    -- A chat is its author's personal data: it goes when the user is erased.
    CONSTRAINT conversations_tenant_id_user_id_fkey FOREIGN KEY (tenant_id, user_id)
        REFERENCES public.users (tenant_id, id) ON DELETE CASCADE
);

-- "My conversations" in the dashboard, and the cascade when a user is deleted.
CREATE INDEX conversations_user_idx ON public.conversations (tenant_id, user_id)
    WHERE user_id IS NOT NULL;
-- "This end-user's conversations" through the API.
CREATE INDEX conversations_external_user_idx
    ON public.conversations (tenant_id, project_id, external_user_id)
    WHERE external_user_id IS NOT NULL;

CREATE TRIGGER conversations_set_updated_at
    BEFORE UPDATE ON public.conversations
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

COMMIT;
