-- Verify contextinject:types/connector_type on pg
BEGIN;

SET LOCAL expect.type = 'public.connector_type';
SET LOCAL expect.labels = 'notion, slack, gmail, github, confluence, jira, sharepoint, '
    'google-drive, web-crawler, direct-upload';
\ir ../../lib/expect_labels.sql

ROLLBACK;
