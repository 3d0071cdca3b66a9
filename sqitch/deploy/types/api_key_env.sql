-- Deploy contextinject:types/api_key_env to pg
-- The spec's apiKeyEnvEnum: keeps test keys from touching live billing (ci_live_ / ci_test_).
BEGIN;
SET LOCAL lock_timeout = '5s';

CREATE TYPE public.api_key_env AS ENUM ('live', 'test');

COMMIT;
