-- Deploy contextinject:types/plan to pg
-- The spec's planEnum. An enum, not a lookup table, because the spec binds the type name and
-- labels; new plans are appended with ALTER TYPE ... ADD VALUE in a later change, never reordered
-- (label order is what ORDER BY and < compare).
BEGIN;
SET LOCAL lock_timeout = '5s';

CREATE TYPE public.plan AS ENUM ('free', 'starter', 'pro', 'enterprise');

COMMIT;
