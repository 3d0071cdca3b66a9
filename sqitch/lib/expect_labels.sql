-- See README.md: the enum expect.type has at least the labels in expect.labels.
DO $$
DECLARE
    typ regtype := current_setting('expect.type')::regtype;
    wanted text[] := ARRAY(
        SELECT trim(unnest(string_to_array(current_setting('expect.labels'), ',')))
    );
    present text[] := ARRAY(
        SELECT enumlabel::text FROM pg_catalog.pg_enum WHERE enumtypid = typ
    );
BEGIN
    IF NOT present @> wanted THEN
        RAISE EXCEPTION 'type % lacks labels of the spec: has %', typ, present;
    END IF;
END
$$;
