-- Deploy contextinject:types/role to pg
-- The spec's roleEnum: a user's role inside a tenant, unrelated to PostgreSQL roles. Declared
-- from most to least privileged so role comparisons (role <= 'admin') read naturally.
BEGIN;
SET LOCAL lock_timeout = '5s';

CREATE TYPE public.role AS ENUM ('owner', 'admin', 'member', 'viewer');

COMMIT;
