-- Deploy contextinject:schema/query_logs to pg
-- One row per retrieval query, written once: analytics (latency, hit counts, tokens) and the
-- debugging trail of what was retrieved. The spec only sketches it; docs/schema.md gives the
-- design. No updated_at: rows are never updated.
BEGIN;
SET LOCAL lock_timeout = '5s';

CREATE TABLE public.query_logs (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    tenant_id uuid NOT NULL,
    project_id uuid NOT NULL,
    conversation_id uuid,
    -- Who asked: a dashboard user or an API key (either may be NULL).
    user_id uuid,
    api_key_id uuid,
    query text NOT NULL,
    response text,
    -- [{chunk_id, document_id, score}] as returned. Not foreign keys: the log must still say
    -- what was retrieved after those chunks are re-indexed or deleted.
    retrieved_chunks jsonb DEFAULT '[]'::jsonb NOT NULL,
    result_count integer DEFAULT 0 NOT NULL,
    model varchar(100),
    prompt_tokens integer DEFAULT 0 NOT NULL,
    completion_tokens integer DEFAULT 0 NOT NULL,
    -- NULL, not 0, when the query failed before a latency was measured.
    latency_ms integer,
    error_message text,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamptz DEFAULT now() NOT NULL,
    CONSTRAINT query_logs_pkey PRIMARY KEY (id),
    CONSTRAINT query_logs_tenant_id_fkey FOREIGN KEY (tenant_id)
        REFERENCES public.tenants (id) ON DELETE CASCADE,
    -- Composite foreign keys: every reference stays inside the row's tenant (and the
    -- conversation inside its project). A project's logs go with the project (they hold its
    -- queries and answers); the others outlive their target with the reference nulled, and
    -- SET NULL (col) leaves tenant_id and project_id alone (PG 15+).
    CONSTRAINT query_logs_tenant_id_project_id_fkey FOREIGN KEY (tenant_id, project_id)
        REFERENCES public.projects (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT query_logs_tenant_id_project_id_conversation_id_fkey
        FOREIGN KEY (tenant_id, project_id, conversation_id)
        REFERENCES public.conversations (tenant_id, project_id, id)
        ON DELETE SET NULL (conversation_id),
    CONSTRAINT query_logs_tenant_id_user_id_fkey FOREIGN KEY (tenant_id, user_id)
        REFERENCES public.users (tenant_id, id) ON DELETE SET NULL (user_id),
    CONSTRAINT query_logs_tenant_id_api_key_id_fkey FOREIGN KEY (tenant_id, api_key_id)
        REFERENCES public.api_keys (tenant_id, id) ON DELETE SET NULL (api_key_id)
);

CREATE INDEX query_logs_tenant_project_idx ON public.query_logs (tenant_id, project_id);
CREATE INDEX query_logs_created_at_idx ON public.query_logs (created_at);
-- Not in the spec: without these, deleting a conversation, user or API key scans the whole log
-- to null the reference. Partial, because most rows leave one or two of them NULL.
CREATE INDEX query_logs_conversation_idx ON public.query_logs (conversation_id)
    WHERE conversation_id IS NOT NULL;
CREATE INDEX query_logs_user_idx ON public.query_logs (tenant_id, user_id)
    WHERE user_id IS NOT NULL;
CREATE INDEX query_logs_api_key_idx ON public.query_logs (tenant_id, api_key_id)
    WHERE api_key_id IS NOT NULL;

COMMIT;
