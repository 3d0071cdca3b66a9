-- Deploy contextinject:schema/tenants to pg
-- The spec's tenants table, the root every tenant-scoped row hangs from (ON DELETE CASCADE).
BEGIN;
SET LOCAL lock_timeout = '5s';

CREATE TABLE public.tenants (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    name varchar(255) NOT NULL,
    slug varchar(63) NOT NULL,
    plan public.plan DEFAULT 'free' NOT NULL,
    region public.region DEFAULT 'us' NOT NULL,
    settings jsonb DEFAULT '{}'::jsonb NOT NULL,
    stripe_customer_id varchar(255),
    created_at timestamptz DEFAULT now() NOT NULL,
    updated_at timestamptz DEFAULT now() NOT NULL,
    CONSTRAINT tenants_pkey PRIMARY KEY (id),
    -- slug is varchar(63), the DNS label limit, so a slug can always serve as a subdomain.
    CONSTRAINT tenants_slug_key UNIQUE (slug)
);

CREATE TRIGGER tenants_set_updated_at
    BEFORE UPDATE ON public.tenants
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

COMMIT;
