"""Seed data: the development seed (compose's default, never the image's) and `cidb seed`,
including deterministic synthetic tenants and the generator benchmark."""

from __future__ import annotations

import hashlib
import json
import math
import re
from pathlib import Path

import psycopg
import pytest
from argon2 import PasswordHasher
from fixtures_db import FreshDb
from fixtures_images import DB_IMAGE
from fixtures_stack import Stack
from support.cli import cidb
from support.docker import Container, run_container, stops_with_one_error

from cidb.bench import seed as seed_bench
from cidb.settings import Settings
from cidb.synthetic import STATUSES, TENANT_TABLES

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "testpassword123"
SCOPES = ["documents:read", "documents:write", "query", "admin"]
KEY_LINE = re.compile(r"(\S+) Development Key \(shown once[^)]*\): (ci_test_[0-9a-f]{64})\b")
ANY_KEY = re.compile(r"ci_test_[0-9a-f]{64}")
SEEDED = {"test-org": "dev@contextinject.ai", "second-org": "dev2@contextinject.ai"}
ADMIN_PASSWORD, APP_PASSWORD = "seed-test-admin", "seed-test-app"
SYNTH = ["--synthetic", "--tenants", "10", "--documents", "1000", "--chunks-per-document", "10"]


def printed_keys(log: str) -> dict[str, list[str]]:
    """slug -> every API key the seed printed for it in LOG."""
    keys: dict[str, list[str]] = {}
    for slug, key in KEY_LINE.findall(log):
        keys.setdefault(slug, []).append(key)
    return keys


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def pro_limits() -> dict[str, object]:
    return json.loads((ROOT / "seed" / "plan-limits.json").read_text())["pro"]


# -- 1. the compose stack comes up seeded -----------------------------------------------------
@pytest.fixture(scope="module")
def stack_keys(stack: Stack) -> dict[str, str]:
    """The keys the db service printed at its first start (read from its log)."""
    keys = printed_keys(stack.compose("logs", "--no-color", "db"))
    assert set(keys) == set(SEEDED), keys
    assert all(len(found) == 1 for found in keys.values()), keys
    return {slug: found[0] for slug, found in keys.items()}


def test_stack_has_the_spec_test_tenant(connect) -> None:
    """test-org is "Test Organization", plan pro, region us, settings the pro plan limits."""
    row = (
        connect("admin")
        .execute("SELECT name, plan, region, settings FROM public.tenants WHERE slug = 'test-org'")
        .fetchall()
    )
    assert row == [("Test Organization", "pro", "us", pro_limits())]


def test_dev_user_is_a_verified_owner_whose_password_verifies(connect) -> None:
    """dev@contextinject.ai is test-org's verified owner; its argon2id hash verifies."""
    login = "SELECT name, role, password_hash FROM lookup_login_user('test-org', %s)"
    rows = connect("app").execute(login, (SEEDED["test-org"],)).fetchall()
    assert [(name, role) for name, role, _ in rows] == [("Dev User", "owner")]
    stored = rows[0][2]
    assert stored.startswith("$argon2id$")
    assert PasswordHasher().verify(stored, PASSWORD)


def test_printed_key_resolves_through_lookup_api_key(connect, stack_keys) -> None:
    """The key in the db log: as ci_app its SHA-256 finds test-org's Development Key."""
    raw = stack_keys["test-org"]
    test_org = connect("admin").execute("SELECT id FROM public.tenants WHERE slug = 'test-org'")
    found = (
        connect("app")
        .execute(
            "SELECT tenant_id, prefix, name, scopes, environment FROM lookup_api_key(%s)",
            (sha256(raw),),
        )
        .fetchall()
    )
    assert found == [(test_org.fetchone()[0], raw[:16], "Development Key", SCOPES, "test")]


def test_only_the_hash_of_each_key_is_stored(connect, stack_keys) -> None:
    """No column of api_keys holds a printed key; each stored hash is the key's SHA-256."""
    admin = connect("admin")
    for slug, raw in stack_keys.items():
        rows = admin.execute(
            "SELECT k.key_hash, k.prefix, k.name FROM public.api_keys AS k"
            " JOIN public.tenants AS t ON t.id = k.tenant_id WHERE t.slug = %s",
            (slug,),
        ).fetchall()
        assert rows == [(sha256(raw), raw[:16], "Development Key")]
        leaked = admin.execute(
            "SELECT count(*) FROM public.api_keys AS k WHERE strpos(k::text, %s) > 0", (raw,)
        ).fetchone()
        assert leaked == (0,)


def test_each_dev_tenant_has_its_default_project(connect) -> None:
    """Both tenants have one "Default Project"; test-org's is the development test project."""
    rows = (
        connect("admin")
        .execute(
            "SELECT t.slug, p.description FROM public.projects AS p"
            " JOIN public.tenants AS t ON t.id = p.tenant_id"
            " WHERE t.slug IN ('test-org', 'second-org') AND p.name = 'Default Project'"
            " ORDER BY t.slug"
        )
        .fetchall()
    )
    assert rows == [
        ("second-org", "Development test project of the second tenant"),
        ("test-org", "Development test project"),
    ]


def test_second_tenant_sees_only_its_own_seed_rows(connect, stack_keys) -> None:
    """As ci_app with second-org's tenant set, only its own user, key and project are visible."""
    app = connect("app", autocommit=False)
    key_hash = sha256(stack_keys["second-org"])
    tenant = app.execute("SELECT tenant_id FROM lookup_api_key(%s)", (key_hash,)).fetchone()[0]
    app.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant),))
    assert app.execute("SELECT slug FROM public.tenants").fetchall() == [("second-org",)]
    assert app.execute("SELECT email FROM public.users").fetchall() == [(SEEDED["second-org"],)]
    keys = app.execute("SELECT prefix FROM public.api_keys").fetchall()
    assert keys == [(stack_keys["second-org"][:16],)]
    assert app.execute("SELECT name FROM public.projects").fetchall() == [("Default Project",)]
    app.rollback()


# -- 2. a second run adds nothing and keeps the key -------------------------------------------
def seed_counts(conn: psycopg.Connection) -> list[tuple[str, int, int, int, str]]:
    """Per dev tenant: its users with the seed's email, Development Keys, Default Projects, and
    the key hashes."""
    return conn.execute(
        "SELECT t.slug,"
        " (SELECT count(*) FROM public.users u WHERE u.tenant_id = t.id"
        "   AND u.email IN ('dev@contextinject.ai', 'dev2@contextinject.ai')),"
        " (SELECT count(*) FROM public.api_keys k WHERE k.tenant_id = t.id"
        "   AND k.name = 'Development Key'),"
        " (SELECT count(*) FROM public.projects p WHERE p.tenant_id = t.id"
        "   AND p.name = 'Default Project'),"
        " (SELECT string_agg(k.key_hash, ',') FROM public.api_keys k WHERE k.tenant_id = t.id)"
        " FROM public.tenants t WHERE t.slug IN ('test-org', 'second-org') ORDER BY t.slug"
    ).fetchall()


def test_cidb_seed_twice_on_the_stack_adds_nothing_and_keeps_the_key(
    stack: Stack, settings: Settings, connect, stack_keys
) -> None:
    """`cidb seed` after the entrypoint's run: one of each, same hashes, no key printed."""
    admin = connect("admin")
    before = seed_counts(admin)
    assert [row[1:4] for row in before] == [(1, 1, 1), (1, 1, 1)]
    env = {"COMPOSE_PROJECT_NAME": stack.project, "CI_DB_PORT": str(settings.port)}
    out = cidb()["seed"].with_env(**env)(timeout=300)
    assert "already has its Development Key; not shown again" in out
    assert not ANY_KEY.search(out), out
    assert seed_counts(admin) == before
    assert sha256(stack_keys["test-org"]) in before[1][4]


@pytest.fixture(scope="module")
def seeded_db(module_fresh_db: FreshDb) -> Container:
    """The image alone with CI_DB_DEV_SEED=1 (what compose.yaml sets)."""
    return module_fresh_db({"POSTGRES_PASSWORD": "pw", "CI_DB_DEV_SEED": "1"})


def test_restart_reruns_the_seed_without_printing_or_rotating_the_key(seeded_db) -> None:
    """A second start runs the seed again: still one of each, same key, no key printed again."""
    query = (
        "SELECT t.slug, count(DISTINCT u.id), count(DISTINCT k.id), count(DISTINCT p.id),"
        " string_agg(DISTINCT k.key_hash, ',') FROM public.tenants t"
        " LEFT JOIN public.users u ON u.tenant_id = t.id"
        " LEFT JOIN public.api_keys k ON k.tenant_id = t.id"
        " LEFT JOIN public.projects p ON p.tenant_id = t.id GROUP BY t.slug ORDER BY t.slug"
    )
    before = seeded_db.psql(query)
    first_keys = printed_keys(seeded_db.logs())
    seeded_db.stop()
    seeded_db.start()
    seeded_db.wait_healthy()
    log = seeded_db.logs()
    assert log.count("ci-db: loading the development seed") == 2
    assert printed_keys(log) == first_keys
    assert log.count("test-org already has its Development Key; not shown again") == 1
    assert seeded_db.psql(query) == before
    assert [line.split("|")[:4] for line in before.splitlines()] == [
        ["second-org", "1", "1", "1"],
        ["test-org", "1", "1", "1"],
    ]
    assert sha256(first_keys["test-org"][0]) in before


# -- 3. the image never seeds by default ------------------------------------------------------
@pytest.mark.parametrize("setting", [None, "0"], ids=["unset", "off"])
def test_image_without_the_dev_option_has_no_seed_rows(images, setting: str | None) -> None:
    """The image started without CI_DB_DEV_SEED=1 has no tenants, users, keys or projects."""
    env = {"POSTGRES_PASSWORD": "pw"} | ({"CI_DB_DEV_SEED": setting} if setting else {})
    db = run_container(DB_IMAGE, env=env)
    try:
        db.wait_healthy()
        counts = db.psql(
            "SELECT (SELECT count(*) FROM public.tenants) + (SELECT count(*) FROM public.users)"
            " + (SELECT count(*) FROM public.api_keys) + (SELECT count(*) FROM public.projects)"
        )
        assert counts == "0"
        assert "development seed" not in db.logs()
    finally:
        db.remove()


def test_bad_dev_seed_value_stops_with_one_line_reason(images) -> None:
    """CI_DB_DEV_SEED=yes stops the container with one clear error line."""
    db = run_container(DB_IMAGE, env={"POSTGRES_PASSWORD": "pw", "CI_DB_DEV_SEED": "yes"})
    try:
        stops_with_one_error(db, "CI_DB_DEV_SEED='yes' must be 0 or 1", timeout=120)
    finally:
        db.remove()


# -- 4. synthetic tenants ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def synth_db(module_fresh_db: FreshDb) -> Container:
    """A database of its own, without the HNSW index.

    pgvector maintains chunks_embedding_hnsw_idx row by row at a few hundred 1024-dim rows per
    second on 2 cores (its build is no faster per row), so 100k embedded chunks would take
    minutes of index work; that cost is pgvector's and the vector benchmark's subject. What
    these tests check is the generator: its rows, constraints, RLS and determinism.
    """
    db = module_fresh_db(
        {
            "POSTGRES_PASSWORD": "pw",
            "CI_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "CI_APP_PASSWORD": APP_PASSWORD,
        }
    )
    db.psql("DROP INDEX public.chunks_embedding_hnsw_idx")
    return db


def seed_cli(db: Container, *args: str) -> str:
    """`cidb seed ARGS --target <db>`; the passwords travel in the environment only."""
    uri = f"postgresql://127.0.0.1:{db.port(5432)}/contextinject"
    env = {"CI_ADMIN_PASSWORD": ADMIN_PASSWORD, "CI_APP_PASSWORD": APP_PASSWORD}
    code, out, err = (
        cidb()[("seed", *args, "--target", uri)].with_env(**env).run(retcode=None, timeout=600)
    )
    assert code == 0, out + err
    return out + err


def fingerprint(db: Container, seed: int) -> dict[str, str]:
    """md5 over every column of every row of SEED's tenants, per table, in id order.

    audit_logs' id and created_at come from the server, so they are left out of its print.
    """
    tenants = f"(SELECT id FROM public.tenants WHERE slug LIKE 'synthetic-{seed}-%')"
    prints = {
        "tenants": db.psql(
            "SELECT md5(string_agg(md5(t::text), '' ORDER BY t.id)) FROM public.tenants t"
            f" WHERE t.id IN {tenants}"
        )
    }
    for table in TENANT_TABLES:
        prints[table] = db.psql(
            f"SELECT md5(string_agg(md5(t::text), '' ORDER BY t.id)) FROM public.{table} t"
            f" WHERE t.tenant_id IN {tenants}"
        )
    # The server sets audit_logs' id and created_at: every column but those, in content order.
    prints["audit_logs"] = db.psql(
        "SELECT md5(string_agg(r, '' ORDER BY r)) FROM (SELECT md5(row(t.tenant_id, t.user_id,"
        " t.api_key_id, t.action, t.resource_type, t.resource_id, t.metadata, t.ip_address,"
        f" t.user_agent)::text) AS r FROM public.audit_logs t WHERE t.tenant_id IN {tenants}) s"
    )
    return prints


def wipe(db: Container) -> None:
    """Everything the generator wrote (the superuser may; ci_admin may not touch audit_logs)."""
    db.psql("TRUNCATE public.tenants, public.audit_logs CASCADE")


@pytest.fixture(scope="module")
def synthetic_run(synth_db: Container) -> dict[str, object]:
    """10 tenants x 1,000 documents x 10 chunks with seed 7, as ci_app under RLS."""
    out = seed_cli(synth_db, *SYNTH, "--seed", "7")
    return {"out": out, "fingerprint": fingerprint(synth_db, 7)}


def test_synthetic_run_fills_every_table_for_every_tenant(synth_db, synthetic_run) -> None:
    """10 tenants, each with rows in every table and 1,000 documents in every status."""
    assert "10 tenant(s) written, 0 already there" in synthetic_run["out"]
    for table in TENANT_TABLES:
        per_tenant = synth_db.psql(
            f"SELECT count(DISTINCT tenant_id) FROM public.{table}"
            " WHERE tenant_id IN (SELECT id FROM public.tenants WHERE slug LIKE 'synthetic-7-%')"
        )
        assert per_tenant == "10", table
    statuses = synth_db.psql(
        "SELECT count(*), count(DISTINCT (tenant_id, status)) FROM public.documents"
    )
    assert statuses == f"10000|{10 * len(STATUSES)}"


def test_synthetic_chunks_match_their_documents(synth_db, synthetic_run) -> None:
    """10 chunks per chunked document; unit-length 1024-dim embeddings exactly once indexed."""
    mismatched = synth_db.psql(
        "SELECT count(*) FROM public.documents d WHERE d.chunk_count <>"
        " (SELECT count(*) FROM public.chunks c WHERE c.document_id = d.id)"
        " OR d.chunk_count NOT IN (0, 10)"
        " OR (d.chunk_count = 10) <> (d.status IN ('indexed', 'embedding'))"
    )
    assert mismatched == "0"
    embeddings = synth_db.psql(
        "SELECT count(*) FILTER (WHERE (c.embedding IS NOT NULL) <> (d.status = 'indexed')),"
        " min(vector_dims(c.embedding)), max(abs(vector_norm(c.embedding) - 1)) < 1e-5,"
        " count(*) > 80000"
        " FROM public.chunks c JOIN public.documents d ON d.id = c.document_id"
    )
    assert embeddings == "0|1024|t|t"


def test_synthetic_rows_reference_only_their_own_tenant(synth_db, synthetic_run) -> None:
    """Logs and sources name chunks, documents, users and keys of their own tenant only."""
    strays = synth_db.psql(
        "SELECT count(*) FROM public.query_logs q, jsonb_array_elements(q.retrieved_chunks) r"
        " WHERE NOT EXISTS (SELECT FROM public.chunks c WHERE c.id = (r ->> 'chunk_id')::uuid"
        "   AND c.tenant_id = q.tenant_id AND c.document_id = (r ->> 'document_id')::uuid)"
    )
    assert strays == "0"
    audit = synth_db.psql(
        "SELECT count(*) FROM public.audit_logs a WHERE"
        " (a.user_id IS NOT NULL AND NOT EXISTS (SELECT FROM public.users u"
        "   WHERE u.id = a.user_id AND u.tenant_id = a.tenant_id))"
        " OR (a.api_key_id IS NOT NULL AND NOT EXISTS (SELECT FROM public.api_keys k"
        "   WHERE k.id = a.api_key_id AND k.tenant_id = a.tenant_id))"
    )
    assert audit == "0"


def test_each_synthetic_tenant_sees_only_its_own_rows_as_app(synth_db, synthetic_run) -> None:
    """As ci_app, each tenant sees exactly its own rows in every table, and no tenant none."""
    conninfo = (
        f"host=127.0.0.1 port={synth_db.port(5432)} dbname=contextinject"
        f" user=ci_app password={APP_PASSWORD}"
    )
    tenants = synth_db.psql("SELECT id FROM public.tenants ORDER BY slug").split()
    owned = {
        table: dict(
            line.split("|")
            for line in synth_db.psql(
                f"SELECT tenant_id, count(*) FROM public.{table} GROUP BY tenant_id"
            ).splitlines()
        )
        for table in TENANT_TABLES
    }
    with psycopg.connect(conninfo) as app:
        for tenant in tenants:
            with app.transaction():
                app.execute("SELECT set_config('app.tenant_id', %s, true)", (tenant,))
                for table in TENANT_TABLES:
                    seen = app.execute(
                        f"SELECT count(*), count(*) FILTER (WHERE tenant_id <> %s)"
                        f" FROM public.{table}",
                        (tenant,),
                    ).fetchone()
                    assert seen == (int(owned[table][tenant]), 0), (table, tenant)
        for table in TENANT_TABLES:
            assert app.execute(f"SELECT count(*) FROM public.{table}").fetchone() == (0,)


def test_synthetic_rerun_skips_tenants_already_there(synth_db, synthetic_run) -> None:
    """The same run again writes nothing and changes nothing."""
    out = seed_cli(synth_db, *SYNTH, "--seed", "7")
    assert "0 tenant(s) written, 10 already there (skipped)" in out
    assert fingerprint(synth_db, 7) == synthetic_run["fingerprint"]


@pytest.mark.parametrize("method", [[], ["--copy"]], ids=["insert-as-app", "copy-as-admin"])
def test_same_seed_gives_identical_content(synth_db, synthetic_run, method: list[str]) -> None:
    """Into a wiped database, seed 7 again (INSERT or binary COPY) gives the same rows."""
    wipe(synth_db)
    seed_cli(synth_db, *SYNTH, "--seed", "7", *method)
    assert fingerprint(synth_db, 7) == synthetic_run["fingerprint"]


def test_another_seed_gives_other_content(synth_db, synthetic_run) -> None:
    """Seed 8 generates different texts and embeddings, not just different ids."""
    seed_cli(synth_db, "--synthetic", "--tenants", "1", "--documents", "50", "--seed", "8")
    contents = synth_db.psql(
        "WITH c7 AS (SELECT c.* FROM public.chunks c JOIN public.tenants t ON t.id = c.tenant_id"
        "   WHERE t.slug LIKE 'synthetic-7-%'),"
        " c8 AS (SELECT c.* FROM public.chunks c JOIN public.tenants t ON t.id = c.tenant_id"
        "   WHERE t.slug = 'synthetic-8-0001')"
        " SELECT (SELECT count(*) FROM c8) > 0,"
        " (SELECT count(*) FROM c8 JOIN c7 ON c7.content = c8.content)"
        " + (SELECT count(*) FROM c8 JOIN c7 ON c7.embedding::text = c8.embedding::text)"
    )
    assert contents == "t|0"


def test_cidb_seed_target_prints_a_key_once_then_keeps_it(synth_db, synthetic_run) -> None:
    """`cidb seed --target`: the first run prints each tenant's key, the second none."""
    first = seed_cli(synth_db)
    keys = {slug: found[0] for slug, found in printed_keys(first).items()}
    assert set(keys) == set(SEEDED)
    second = seed_cli(synth_db)
    assert not ANY_KEY.search(second), second
    stored = synth_db.psql(
        "SELECT string_agg(key_hash, ',' ORDER BY key_hash) FROM public.api_keys"
        " WHERE name = 'Development Key'"
    )
    assert stored == ",".join(sorted(sha256(k) for k in keys.values()))


def test_target_with_a_password_is_refused() -> None:
    """A password in --target is refused before anything runs: it belongs in the env."""
    code, out, err = cidb()["seed", "--target", "postgresql://ci_admin:pw@127.0.0.1:1/x"].run(
        retcode=None
    )
    assert code == 1 and "no password in --target" in err, out + err


# -- 5. the generator benchmark ---------------------------------------------------------------
def test_generator_benchmark_reports_finite_ratios(settings: Settings, connect) -> None:
    """`seed` bench (quick): COPY vs INSERT rows/s side by side; it leaves no tenant behind."""
    before = connect("admin").execute("SELECT count(*) FROM public.tenants").fetchone()
    result = seed_bench.run(settings, quick=True)
    print(result.table())
    assert [m.unit for m in result.metrics] == ["rows/s"] * 3
    assert all(math.isfinite(m.ratio) and m.variant > 0 for m in result.metrics)
    assert connect("admin").execute("SELECT count(*) FROM public.tenants").fetchone() == before


def test_rows_the_catalog_refuses_stop_the_seed_before_writing() -> None:
    """A column the role may not insert (audit_logs.id) or a required one left out is refused."""
    from cidb.seed import Column, SeedError, checked_columns

    catalog = {
        "audit_logs": {
            "id": Column("uuid", required=False, insertable=False),
            "tenant_id": Column("uuid", required=True, insertable=True),
            "action": Column("text", required=True, insertable=True),
        }
    }
    assert [c.type for c in checked_columns(catalog, "audit_logs", ["tenant_id", "action"])] == [
        "uuid",
        "text",
    ]
    with pytest.raises(SeedError, match=r"\['id'\].*required none"):
        checked_columns(catalog, "audit_logs", ["id", "tenant_id", "action"])
    with pytest.raises(SeedError, match=r"required \['action'\]"):
        checked_columns(catalog, "audit_logs", ["tenant_id"])
