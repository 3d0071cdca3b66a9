"""No superuser step at start can be hijacked: ci_migrator plants shadowing functions,
operators, casts and triggers in every schema it can write, the container restarts (roles,
extensions, deploy, dev seed all run again), and nobody has gained a privilege."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from fixtures_images import DB_IMAGE
from support.docker import Container, docker, run_container, unique_name

PASSWORDS = {
    "POSTGRES_PASSWORD": "hijack-postgres-pw",
    "CI_MIGRATOR_PASSWORD": "hijack-migrator-pw",
    "CI_APP_PASSWORD": "hijack-app-pw",
    "CI_READONLY_PASSWORD": "hijack-readonly-pw",
    "CI_ADMIN_PASSWORD": "hijack-admin-pw",
    "PGBOUNCER_AUTH_PASSWORD": "hijack-auth-pw",
}
# Everything a start-up step calls by name, shadowed with a better or equal match.
SHADOW_FUNCTIONS = {
    "unnest(text[])": "SETOF text",
    "format(text, text)": "text",
    "format(text, text, text)": "text",
    "now()": "timestamptz",
    "hashtext(text)": "integer",
    "pg_advisory_xact_lock(integer)": "void",
    "replace(text, text, text)": "text",
    "encode(bytea, text)": "text",
    "sha256(bytea)": "bytea",
    "left(text, integer)": "text",
    "convert_to(text, text)": "bytea",
    "gen_random_uuid()": "uuid",
    "set_config(text, text, boolean)": "text",
    "current_setting(text, boolean)": "text",
    "string_agg(text, text)": None,  # an aggregate: shadowed below
}
PRIVILEGE_SNAPSHOT = (
    "SELECT string_agg(format('%s:%s%s%s%s%s', rolname, rolsuper, rolcreaterole, rolcreatedb,"
    " rolbypassrls, rolreplication), ',' ORDER BY rolname) FROM pg_roles;"
    "SELECT count(*) FROM pg_auth_members;"
    "SELECT string_agg(format('%s:%s', datname, datacl), ',' ORDER BY datname) FROM pg_database"
)


def probe_sql(schema: str) -> str:
    """A probe that records who runs it and, when that is a superuser, escalates ci_migrator."""
    return f"""
CREATE TABLE IF NOT EXISTS public.hijack_log (
    what text, session_user_name text, current_user_name text, superuser boolean);
GRANT INSERT, SELECT ON public.hijack_log TO PUBLIC;
CREATE OR REPLACE FUNCTION {schema}.hijack_probe(what text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.hijack_log VALUES (what, session_user, current_user,
        (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user));
    BEGIN
        EXECUTE 'ALTER ROLE ci_migrator SUPERUSER';
        EXECUTE 'GRANT ci_admin TO ci_migrator';
        EXECUTE 'COPY (SELECT 1) TO PROGRAM ''id''';
    EXCEPTION WHEN OTHERS THEN NULL;
    END;
END $$;
GRANT EXECUTE ON FUNCTION {schema}.hijack_probe(text) TO PUBLIC;
"""


def shadow_sql(schema: str) -> list[str]:
    statements = [probe_sql(schema)]
    for signature, returns in SHADOW_FUNCTIONS.items():
        name, args = signature.split("(", 1)
        if returns is None:
            continue
        ending = {"SETOF text": "RETURN NEXT NULL;", "void": "RETURN;"}.get(returns, "RETURN NULL;")
        body = f"BEGIN PERFORM {schema}.hijack_probe('{name}'); {ending} END"
        statements.append(
            f'CREATE OR REPLACE FUNCTION {schema}."{name}"({args} RETURNS {returns}'
            f" LANGUAGE plpgsql AS $${body}$$"
        )
        statements.append(f'GRANT EXECUTE ON FUNCTION {schema}."{name}"({args} TO PUBLIC')
    statements += [
        f"CREATE OR REPLACE FUNCTION {schema}.shadow_sfunc(text, text, text) RETURNS text"
        f" LANGUAGE plpgsql AS $$BEGIN PERFORM {schema}.hijack_probe('string_agg');"
        " RETURN $1; END$$",
        f"CREATE OR REPLACE AGGREGATE {schema}.string_agg(text, text)"
        f" (SFUNC = {schema}.shadow_sfunc, STYPE = text)",
        f"CREATE OR REPLACE FUNCTION {schema}.shadow_eq(name, text) RETURNS boolean"
        f" LANGUAGE plpgsql AS $$BEGIN PERFORM {schema}.hijack_probe('='); RETURN false; END$$",
        f"CREATE OPERATOR {schema}.= (LEFTARG = name, RIGHTARG = text,"
        f" FUNCTION = {schema}.shadow_eq)",
        f"CREATE OPERATOR {schema}.~ (LEFTARG = name, RIGHTARG = text,"
        f" FUNCTION = {schema}.shadow_eq)",
    ]
    return statements


OWNER_PLANTS = [
    # A cast on a type ci_owner owns: the seed's 'pro'::public.plan goes through it.
    "CREATE OR REPLACE FUNCTION public.shadow_plan(text) RETURNS public.plan LANGUAGE plpgsql"
    " AS $$BEGIN PERFORM public.hijack_probe('cast'); RETURN (SELECT x FROM"
    " pg_catalog.unnest(pg_catalog.enum_range(NULL::public.plan)) AS x WHERE x::text = $1);"
    " END$$",
    "CREATE CAST (text AS public.plan) WITH FUNCTION public.shadow_plan(text)",
    # Statement triggers on tables the seed and the deploy write.
    "CREATE OR REPLACE FUNCTION public.shadow_trigger() RETURNS trigger LANGUAGE plpgsql"
    " AS $$BEGIN PERFORM public.hijack_probe('trigger ' || TG_TABLE_NAME); RETURN NULL; END$$",
    "CREATE TRIGGER hijack AFTER INSERT OR UPDATE ON public.tenants"
    " FOR EACH STATEMENT EXECUTE FUNCTION public.shadow_trigger()",
    "CREATE TRIGGER hijack AFTER INSERT OR UPDATE ON public.users"
    " FOR EACH STATEMENT EXECUTE FUNCTION public.shadow_trigger()",
    "CREATE TRIGGER hijack AFTER INSERT OR UPDATE OR DELETE ON sqitch.events"
    " FOR EACH STATEMENT EXECUTE FUNCTION public.shadow_trigger()",
]


@pytest.fixture(scope="module")
def planted(images: dict[str, str]) -> Iterator[tuple[Container, str, list[str]]]:
    """A dev-seeded container whose every writable schema is full of shadows, restarted."""
    volume = unique_name("cidb-hijack")
    db = run_container(
        DB_IMAGE,
        env={**PASSWORDS, "CI_DB_DEV_SEED": "1"},
        volumes=[f"{volume}:/var/lib/postgresql/data"],
    )
    try:
        db.wait_healthy()
        before = db.psql(PRIVILEGE_SNAPSHOT)
        conninfo = (
            f"host=127.0.0.1 port={db.port(5432)} dbname=contextinject user=ci_migrator"
            f" password={PASSWORDS['CI_MIGRATOR_PASSWORD']}"
        )
        with psycopg.connect(conninfo, autocommit=True) as migrator:
            schemas = [
                row[0]
                for row in migrator.execute(
                    "SELECT nspname FROM pg_namespace"
                    " WHERE has_schema_privilege(current_user, oid, 'CREATE') ORDER BY 1"
                ).fetchall()
            ]
            for schema in schemas:
                for statement in shadow_sql(schema):
                    migrator.execute(statement)
            for statement in OWNER_PLANTS:
                migrator.execute(statement)
            # Proof the probe works when the planting role calls a shadow itself.
            migrator.execute("SELECT public.hijack_probe('self-test')")
        db.stop()
        db.start()
        db.wait_healthy()
        yield db, before, schemas
    finally:
        db.remove()
        docker("volume", "rm", "-f", volume, retcode=None)


def test_planted_objects_cover_every_schema_the_migrator_can_write(planted) -> None:
    """The attack surface is what it is thought to be: public and Sqitch's registry."""
    _, _, schemas = planted
    assert "public" in schemas
    assert set(schemas) <= {"public", "sqitch"}


def test_restart_runs_no_planted_object_as_the_superuser(planted) -> None:
    """The probes ran (the seed fired the trigger as ci_admin), never as a superuser."""
    db, _, _ = planted
    runs = db.psql(
        "SELECT what, session_user_name, current_user_name, superuser FROM public.hijack_log"
    ).splitlines()
    assert any(row.startswith("self-test|ci_migrator") for row in runs)
    assert any(row.startswith("trigger tenants|ci_admin|ci_admin|f") for row in runs), runs
    assert [row for row in runs if row.endswith("|t") or "|postgres|" in row] == []


def test_restart_grants_no_new_privilege(planted) -> None:
    """Role attributes, memberships and database ACLs are exactly what they were."""
    db, before, _ = planted
    assert db.psql(PRIVILEGE_SNAPSHOT) == before
    assert db.psql("SELECT rolsuper FROM pg_roles WHERE rolname = 'ci_migrator'") == "f"
