-- The login guard, run by the entrypoint as the superuser on every start (after the roles).
-- PostgreSQL lets every role change its own password and its own ALTER ROLE ... SET defaults,
-- and offers no switch to forbid it. A role's holder could lock the service out (a new
-- password) or sabotage every later session (default_transaction_read_only, statement_timeout,
-- a default app.tenant_id). The entrypoint records what it set; a login event trigger puts back
-- whatever differs at the next login of any role (the healthcheck logs in every few seconds),
-- and clears in the session at hand any default that did not come from the entrypoint.
SET log_statement = 'none';

CREATE SCHEMA IF NOT EXISTS ci_guard AUTHORIZATION :"superuser";
ALTER SCHEMA ci_guard OWNER TO :"superuser";
REVOKE ALL ON SCHEMA ci_guard FROM PUBLIC;

CREATE TABLE IF NOT EXISTS ci_guard.login_roles (
    rolname name PRIMARY KEY,
    rolpassword text,
    -- pg_db_role_setting rows of this role, as (setdatabase, setconfig) pairs.
    settings jsonb NOT NULL
);
REVOKE ALL ON ci_guard.login_roles FROM PUBLIC;

-- The state the entrypoint just set, for the contract's login roles (the manifest's roles with a
-- password variable, passed as the psql variable roles_manifest).
TRUNCATE ci_guard.login_roles;
INSERT INTO ci_guard.login_roles (rolname, rolpassword, settings)
SELECT a.rolname, a.rolpassword,
    COALESCE((
        SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(s.setdatabase, s.setconfig)
            ORDER BY s.setdatabase)
        FROM pg_catalog.pg_db_role_setting AS s
        WHERE s.setrole OPERATOR(pg_catalog.=) a.oid), '[]'::jsonb)
FROM pg_catalog.pg_authid AS a
WHERE a.rolname::pg_catalog.text OPERATOR(pg_catalog.=) ANY (
    SELECT r.name
    FROM pg_catalog.jsonb_to_recordset(pg_catalog.jsonb_extract_path(:'roles_manifest'::pg_catalog.jsonb, 'roles'))
        AS r(name text, login boolean, password_env text)
    WHERE r.login AND r.password_env IS NOT NULL);

-- The settings a role has now that the entrypoint did not record, as "name" values.
CREATE OR REPLACE FUNCTION ci_guard.unrecorded_settings(p_role name, p_recorded jsonb)
RETURNS text[]
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT COALESCE(array_agg(split_part(item, '=', 1)), '{}')
    FROM pg_catalog.pg_db_role_setting AS s, unnest(s.setconfig) AS item
    WHERE s.setrole = p_role::regrole
      AND NOT p_recorded @> jsonb_build_array(jsonb_build_array(s.setdatabase, jsonb_build_array(item)))
$$;
REVOKE ALL ON FUNCTION ci_guard.unrecorded_settings(name, jsonb) FROM PUBLIC;

-- Puts one role's ALTER ROLE ... SET defaults back to the recorded (setdatabase, setconfig) pairs.
CREATE OR REPLACE FUNCTION ci_guard.restore_settings(p_role name, p_recorded jsonb)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    pair record;
    item text;
BEGIN
    FOR pair IN
        SELECT s.setdatabase, d.datname
        FROM pg_catalog.pg_db_role_setting AS s
        LEFT JOIN pg_catalog.pg_database AS d ON d.oid = s.setdatabase
        WHERE s.setrole = p_role::regrole
    LOOP
        EXECUTE format('ALTER ROLE %I %s RESET ALL', p_role,
            CASE WHEN pair.setdatabase = 0 THEN '' ELSE format('IN DATABASE %I', pair.datname) END);
    END LOOP;
    FOR pair IN
        SELECT e -> 1 AS setconfig, d.datname
        FROM jsonb_array_elements(p_recorded) AS e
        LEFT JOIN pg_catalog.pg_database AS d ON d.oid = (e ->> 0)::oid
    LOOP
        FOR item IN SELECT jsonb_array_elements_text(pair.setconfig) LOOP
            EXECUTE format('ALTER ROLE %I %s SET %s TO %L', p_role,
                CASE WHEN pair.datname IS NULL THEN '' ELSE format('IN DATABASE %I', pair.datname) END,
                split_part(item, '=', 1), substr(item, strpos(item, '=') + 1));
        END LOOP;
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION ci_guard.restore_settings(name, jsonb) FROM PUBLIC;

CREATE OR REPLACE FUNCTION ci_guard.on_login()
RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
    setting_name text;
BEGIN
    FOR r IN
        SELECT g.rolname, g.rolpassword, g.settings,
            a.rolpassword IS DISTINCT FROM g.rolpassword AS password_changed,
            g.settings <> COALESCE((
                SELECT jsonb_agg(jsonb_build_array(s.setdatabase, s.setconfig) ORDER BY s.setdatabase)
                FROM pg_catalog.pg_db_role_setting AS s WHERE s.setrole = a.oid), '[]'::jsonb) AS settings_changed
        FROM ci_guard.login_roles AS g
        JOIN pg_catalog.pg_authid AS a ON a.rolname = g.rolname
    LOOP
        IF r.settings_changed AND r.rolname = session_user THEN
            -- This session started with those defaults: take them back here at once, even
            -- when the repair below cannot run (default_transaction_read_only = on).
            FOREACH setting_name IN ARRAY ci_guard.unrecorded_settings(r.rolname, r.settings) LOOP
                BEGIN
                    PERFORM set_config(setting_name, COALESCE(
                        (SELECT f.setting FROM pg_catalog.pg_file_settings AS f
                         WHERE f.name = setting_name AND f.applied ORDER BY f.seqno DESC LIMIT 1),
                        (SELECT s.boot_val FROM pg_catalog.pg_settings AS s WHERE s.name = setting_name),
                        ''), false);
                EXCEPTION WHEN OTHERS THEN
                    RAISE LOG 'ci-db guard: could not reset % in this session: %', setting_name, SQLERRM;
                END;
            END LOOP;
        END IF;
        BEGIN
            IF r.password_changed THEN
                IF r.rolpassword IS NULL THEN
                    EXECUTE format('ALTER ROLE %I PASSWORD NULL', r.rolname);
                ELSE
                    EXECUTE format('ALTER ROLE %I PASSWORD %L', r.rolname, r.rolpassword);
                END IF;
                RAISE LOG 'ci-db guard: restored the password of role % (changed after start)', r.rolname;
            END IF;
            IF r.settings_changed THEN
                PERFORM ci_guard.restore_settings(r.rolname, r.settings);
                RAISE LOG 'ci-db guard: restored the ALTER ROLE ... SET defaults of role %', r.rolname;
            END IF;
        EXCEPTION WHEN OTHERS THEN
            -- Never refuse a login: a read-only session (or a concurrent repair) leaves the
            -- repair to the next login of any role.
            RAISE LOG 'ci-db guard: could not restore role % yet: %', r.rolname, SQLERRM;
        END;
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION ci_guard.on_login() FROM PUBLIC;

SELECT 'CREATE EVENT TRIGGER ci_guard_on_login ON login EXECUTE FUNCTION ci_guard.on_login()'
WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_event_trigger WHERE evtname OPERATOR(pg_catalog.=) 'ci_guard_on_login')
\gexec
