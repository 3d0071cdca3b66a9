-- See README.md: expect.relation has every name in expect.constraints, .indexes (valid) and .triggers.
DO $$
DECLARE
    tab regclass := current_setting('expect.relation')::regclass;
    missing text;
BEGIN
    SELECT string_agg(name, ', ') INTO missing
    FROM (
        (SELECT trim(unnest(string_to_array(current_setting('expect.constraints', true), ','))) AS name
         EXCEPT SELECT conname FROM pg_catalog.pg_constraint WHERE conrelid = tab)
        UNION ALL
        (SELECT trim(unnest(string_to_array(current_setting('expect.indexes', true), ',')))
         EXCEPT SELECT c.relname::text
         FROM pg_catalog.pg_index AS i
         JOIN pg_catalog.pg_class AS c ON c.oid = i.indexrelid
         WHERE i.indrelid = tab AND i.indisvalid)
        UNION ALL
        (SELECT trim(unnest(string_to_array(current_setting('expect.triggers', true), ',')))
         EXCEPT SELECT tgname FROM pg_catalog.pg_trigger WHERE tgrelid = tab)
    ) AS absent
    WHERE name <> '';
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION '%: missing or invalid: %', tab, missing;
    END IF;
END
$$;
