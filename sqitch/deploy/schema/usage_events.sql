-- Deploy contextinject:schema/usage_events to pg
-- Metered usage (queries, tokens embedded, bytes stored, documents ingested), the ledger that
-- plan limits and Stripe metered billing read. The spec only sketches it; docs/schema.md gives
-- the design. No updated_at: only reported_at is ever set after the insert.
BEGIN;
SET LOCAL lock_timeout = '5s';

CREATE TABLE public.usage_events (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    tenant_id uuid NOT NULL,
    -- NULL for tenant-wide usage (seats, total storage) and after the project is deleted.
    project_id uuid,
    api_key_id uuid,
    -- Free text, not an enum: a new metered feature must not need ALTER TYPE.
    event_type varchar(50) NOT NULL,
    -- bigint: bytes and token counts outgrow integer.
    quantity bigint NOT NULL,
    unit varchar(20) NOT NULL,
    -- Set by the producer (e.g. "<query_log id>:tokens") so a retried worker cannot bill twice.
    idempotency_key varchar(255),
    -- When the event was pushed to the billing provider; NULL means not yet.
    reported_at timestamptz,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamptz DEFAULT now() NOT NULL,
    CONSTRAINT usage_events_pkey PRIMARY KEY (id),
    CONSTRAINT usage_events_tenant_id_idempotency_key_key UNIQUE (tenant_id, idempotency_key),
    CONSTRAINT usage_events_quantity_check CHECK (quantity >= 0),
    CONSTRAINT usage_events_tenant_id_fkey FOREIGN KEY (tenant_id)
        REFERENCES public.tenants (id) ON DELETE CASCADE,
    -- Composite foreign keys keep references inside the row's tenant. SET NULL (col), not
    -- CASCADE: usage already consumed is still billed after its project or key is deleted.
    CONSTRAINT usage_events_tenant_id_project_id_fkey FOREIGN KEY (tenant_id, project_id)
        REFERENCES public.projects (tenant_id, id) ON DELETE SET NULL (project_id),
    CONSTRAINT usage_events_tenant_id_api_key_id_fkey FOREIGN KEY (tenant_id, api_key_id)
        REFERENCES public.api_keys (tenant_id, id) ON DELETE SET NULL (api_key_id)
);

-- A tenant's usage over a billing period: plan limits and invoices.
CREATE INDEX usage_events_tenant_created_at_idx ON public.usage_events (tenant_id, created_at);
-- The billing job's queue; reported rows leave the index.
CREATE INDEX usage_events_unreported_idx ON public.usage_events (created_at)
    WHERE reported_at IS NULL;
-- Per-project and per-key usage, and the SET NULL when a project or key is deleted.
CREATE INDEX usage_events_project_idx ON public.usage_events (tenant_id, project_id)
    WHERE project_id IS NOT NULL;
CREATE INDEX usage_events_api_key_idx ON public.usage_events (tenant_id, api_key_id)
    WHERE api_key_id IS NOT NULL;

COMMIT;
