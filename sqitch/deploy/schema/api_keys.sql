-- Deploy contextinject:schema/api_keys to pg
-- The spec's api_keys table. Only the SHA-256 of a key is stored; the key itself is shown once.
BEGIN;
SET LOCAL lock_timeout = '5s';

CREATE TABLE public.api_keys (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    tenant_id uuid NOT NULL,
    key_hash varchar(64) NOT NULL,
    prefix varchar(20) NOT NULL,
    name varchar(100) NOT NULL,
    scopes jsonb DEFAULT '[]'::jsonb NOT NULL,
    environment public.api_key_env DEFAULT 'live' NOT NULL,
    last_used_at timestamptz,
    expires_at timestamptz,
    created_at timestamptz DEFAULT now() NOT NULL,
    CONSTRAINT api_keys_pkey PRIMARY KEY (id),
    -- Target of the composite foreign keys that keep a log row's key in the row's tenant.
    CONSTRAINT api_keys_tenant_id_id_key UNIQUE (tenant_id, id),
    CONSTRAINT api_keys_tenant_id_fkey FOREIGN KEY (tenant_id)
        REFERENCES public.tenants (id) ON DELETE CASCADE
);

-- Global, not per tenant: a request is authenticated by its key before the tenant is known.
-- Uniqueness of a hash of 256 random bits tells no tenant anything about another.
CREATE UNIQUE INDEX api_keys_hash_idx ON public.api_keys (key_hash);
CREATE INDEX api_keys_tenant_idx ON public.api_keys (tenant_id);

COMMIT;
