-- Deploy contextinject:types/connector_type to pg
-- The spec's connectorTypeEnum. The hyphenated labels are the spec's and the API's wire values.
BEGIN;
SET LOCAL lock_timeout = '5s';

CREATE TYPE public.connector_type AS ENUM (
    'notion', 'slack', 'gmail', 'github', 'confluence', 'jira', 'sharepoint',
    'google-drive', 'web-crawler', 'direct-upload'
);

COMMIT;
