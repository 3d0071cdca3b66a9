-- Deploy contextinject:schema/users to pg
-- The spec's users table: people who sign in to the dashboard, always inside one tenant.
BEGIN;
SET LOCAL lock_timeout = '5s';

CREATE TABLE public.users (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    tenant_id uuid NOT NULL,
    email varchar(255) NOT NULL,
    name varchar(255) NOT NULL,
    role public.role DEFAULT 'member' NOT NULL,
    password_hash varchar(255) NOT NULL,
    email_verified boolean DEFAULT false NOT NULL,
    last_login_at timestamptz,
    created_at timestamptz DEFAULT now() NOT NULL,
    updated_at timestamptz DEFAULT now() NOT NULL,
    CONSTRAINT users_pkey PRIMARY KEY (id),
    -- Target of the composite foreign keys that keep a child row's user in the child's tenant.
    CONSTRAINT users_tenant_id_id_key UNIQUE (tenant_id, id),
    CONSTRAINT users_tenant_id_fkey FOREIGN KEY (tenant_id)
        REFERENCES public.tenants (id) ON DELETE CASCADE
);

CREATE INDEX users_tenant_idx ON public.users (tenant_id);
-- Partial, as the spec has it: sign-in looks up verified addresses only. Not unique (the spec's
-- choice); see docs/schema.md.
CREATE INDEX users_email_idx ON public.users (tenant_id, email) WHERE email_verified = true;

CREATE TRIGGER users_set_updated_at
    BEFORE UPDATE ON public.users
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

COMMIT;
