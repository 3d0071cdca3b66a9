-- Deploy contextinject:schema/audit_logs to pg
-- The spec's audit_logs table. Deliberately without foreign keys (the spec declares none here,
-- unlike on every other tenant column): an audit trail must outlive what it records. Deleting a
-- user, an API key or the tenant itself must not erase or rewrite the evidence of what they did;
-- rows go only through a retention purge by created_at. See docs/schema.md.
BEGIN;
SET LOCAL lock_timeout = '5s';

CREATE TABLE public.audit_logs (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    tenant_id uuid NOT NULL,
    -- Historical ids, not references: they keep naming the actor after it is deleted. Join
    -- them on (tenant_id, id), never on id alone.
    user_id uuid,
    api_key_id uuid,
    action varchar(100) NOT NULL,
    resource_type varchar(50) NOT NULL,
    -- Polymorphic (resource_type says which table), so no foreign key could express it.
    resource_id uuid,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    -- 45: the longest textual IPv6 address (IPv4-mapped form).
    ip_address varchar(45),
    user_agent text,
    created_at timestamptz DEFAULT now() NOT NULL,
    CONSTRAINT audit_logs_pkey PRIMARY KEY (id)
);

CREATE INDEX audit_logs_tenant_idx ON public.audit_logs (tenant_id);
-- Time-range reads and the retention purge.
CREATE INDEX audit_logs_created_at_idx ON public.audit_logs (created_at);
CREATE INDEX audit_logs_action_idx ON public.audit_logs (tenant_id, action);

COMMIT;
