-- Deploy contextinject:grants/app_tenant_columns to pg
-- ci_app may UPDATE only tenants.name, the display name a tenant's owner edits in the dashboard.
-- Everything else on the row is ci_admin's (billing, sign-up and support tooling):
--   plan, settings        what the tenant pays for and the limits that follow from it
--                         (settings holds the plan limits, seed/plan-limits.json);
--   stripe_customer_id    whom the billing provider charges;
--   slug                  the sign-in and subdomain identity (lookup_login_user): renaming it
--                         breaks sign-in links and frees the old name for someone else;
--   region                where the data lives, which only a migration may change;
--   id, created_at, updated_at  keys and server timestamps (updated_at is the trigger's).
-- Column privileges are checked on the columns an UPDATE names, so SET plan = ... fails with
-- 42501 before any row is read; the updated_at trigger's own write is not checked. REVOKE of the
-- table-level UPDATE comes first: while it stands, a column grant would add nothing.
BEGIN;
SET LOCAL lock_timeout = '5s';

REVOKE UPDATE ON public.tenants FROM ci_app;
GRANT UPDATE (name) ON public.tenants TO ci_app;

COMMIT;
