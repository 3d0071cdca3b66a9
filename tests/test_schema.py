"""The deployed schema against the spec, transcribed by hand from database-layer.md.

Nothing here is generated from our SQL: each expectation is a line of the spec.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from plumbum.commands.processes import ProcessExecutionError
from support.docker import Container

UUID, TEXT, INT, JSONB, BOOL = "uuid", "text", "integer", "jsonb", "boolean"
TSTZ = "timestamp with time zone"


def varchar(n: int) -> str:
    return f"character varying({n})"


# (table, column, type, not null, default fragment or None for no default)
SPEC_COLUMNS: list[tuple[str, str, str, bool, str | None]] = [
    ("tenants", "id", UUID, True, "gen_random_uuid()"),
    ("tenants", "name", varchar(255), True, None),
    ("tenants", "slug", varchar(63), True, None),
    ("tenants", "plan", "plan", True, "'free'::"),
    ("tenants", "region", "region", True, "'us'::"),
    ("tenants", "settings", JSONB, True, "'{}'::jsonb"),
    ("tenants", "stripe_customer_id", varchar(255), False, None),
    ("tenants", "created_at", TSTZ, True, "now()"),
    ("tenants", "updated_at", TSTZ, True, "now()"),
    ("users", "id", UUID, True, "gen_random_uuid()"),
    ("users", "tenant_id", UUID, True, None),
    ("users", "email", varchar(255), True, None),
    ("users", "name", varchar(255), True, None),
    ("users", "role", "role", True, "'member'::"),
    ("users", "password_hash", varchar(255), True, None),
    ("users", "email_verified", BOOL, True, "false"),
    ("users", "last_login_at", TSTZ, False, None),
    ("users", "created_at", TSTZ, True, "now()"),
    ("users", "updated_at", TSTZ, True, "now()"),
    ("api_keys", "id", UUID, True, "gen_random_uuid()"),
    ("api_keys", "tenant_id", UUID, True, None),
    ("api_keys", "key_hash", varchar(64), True, None),
    ("api_keys", "prefix", varchar(20), True, None),
    ("api_keys", "name", varchar(100), True, None),
    ("api_keys", "scopes", JSONB, True, "'[]'::jsonb"),
    ("api_keys", "environment", "api_key_env", True, "'live'::"),
    ("api_keys", "last_used_at", TSTZ, False, None),
    ("api_keys", "expires_at", TSTZ, False, None),
    ("api_keys", "created_at", TSTZ, True, "now()"),
    ("documents", "id", UUID, True, "gen_random_uuid()"),
    ("documents", "tenant_id", UUID, True, None),
    ("documents", "project_id", UUID, True, None),
    ("documents", "connector_id", UUID, False, None),
    ("documents", "connector_type", "connector_type", True, None),
    ("documents", "external_id", varchar(255), False, None),
    ("documents", "title", TEXT, True, None),
    ("documents", "source_url", TEXT, False, None),
    ("documents", "mime_type", varchar(100), True, None),
    ("documents", "size_bytes", INT, True, "0"),
    ("documents", "content_hash", varchar(64), True, None),
    ("documents", "status", "document_status", True, "'pending'::"),
    ("documents", "chunk_count", INT, True, "0"),
    ("documents", "token_count", INT, True, "0"),
    ("documents", "metadata", JSONB, True, "'{}'::jsonb"),
    ("documents", "access_control", JSONB, True, "'{\"isPublic\": false}'::jsonb"),
    ("documents", "error_message", TEXT, False, None),
    ("documents", "created_at", TSTZ, True, "now()"),
    ("documents", "updated_at", TSTZ, True, "now()"),
    ("documents", "indexed_at", TSTZ, False, None),
    ("documents", "deleted_at", TSTZ, False, None),
    ("chunks", "id", UUID, True, "gen_random_uuid()"),
    ("chunks", "document_id", UUID, True, None),
    ("chunks", "tenant_id", UUID, True, None),
    ("chunks", "project_id", UUID, True, None),
    ("chunks", "content", TEXT, True, None),
    ("chunks", "token_count", INT, True, None),
    ("chunks", "chunk_index", INT, True, None),
    ("chunks", "vector_id", varchar(255), True, None),
    ("chunks", "metadata", JSONB, True, "'{}'::jsonb"),
    ("chunks", "created_at", TSTZ, True, "now()"),
    ("chunks", "embedding", "vector(1024)", False, None),
    ("audit_logs", "id", UUID, True, "gen_random_uuid()"),
    ("audit_logs", "tenant_id", UUID, True, None),
    ("audit_logs", "user_id", UUID, False, None),
    ("audit_logs", "api_key_id", UUID, False, None),
    ("audit_logs", "action", varchar(100), True, None),
    ("audit_logs", "resource_type", varchar(50), True, None),
    ("audit_logs", "resource_id", UUID, False, None),
    ("audit_logs", "metadata", JSONB, True, "'{}'::jsonb"),
    ("audit_logs", "ip_address", varchar(45), False, None),
    ("audit_logs", "user_agent", TEXT, False, None),
    ("audit_logs", "created_at", TSTZ, True, "now()"),
]

# The tables the spec only sketches ("follow the same pattern"): the pattern's columns.
SKETCHED_TABLES = ["projects", "connectors", "query_logs", "usage_events", "conversations"]
ALL_TABLES = sorted({c[0] for c in SPEC_COLUMNS} | set(SKETCHED_TABLES))

SPEC_ENUMS = {
    "plan": ["free", "starter", "pro", "enterprise"],
    "region": ["us", "eu", "apac"],
    "role": ["owner", "admin", "member", "viewer"],
    "document_status": ["pending", "processing", "embedding", "indexed", "failed", "deleted"],
    "connector_type": [
        "notion",
        "slack",
        "gmail",
        "github",
        "confluence",
        "jira",
        "sharepoint",
        "google-drive",
        "web-crawler",
        "direct-upload",
    ],
    "connector_status": ["active", "paused", "error", "disconnected"],
    "api_key_env": ["live", "test"],
}

# (table, column, referenced table, ON DELETE: c=cascade, n=set null)
SPEC_FOREIGN_KEYS = [
    ("users", "tenant_id", "tenants", "c"),
    ("api_keys", "tenant_id", "tenants", "c"),
    ("documents", "tenant_id", "tenants", "c"),
    ("documents", "project_id", "projects", "c"),
    ("documents", "connector_id", "connectors", "n"),
    ("chunks", "document_id", "documents", "c"),
]

# (index name, table, fragment of its definition): the index table and the table definitions.
# ruff: noqa: E501 -- index definitions read best as the one line pg_indexes prints.
SPEC_INDEXES = [
    (
        "tenants_slug_key",
        "tenants",
        "UNIQUE INDEX tenants_slug_key ON public.tenants USING btree (slug)",
    ),
    ("users_tenant_idx", "users", "USING btree (tenant_id)"),
    ("users_email_idx", "users", "USING btree (tenant_id, email) WHERE (email_verified = true)"),
    (
        "api_keys_hash_idx",
        "api_keys",
        "UNIQUE INDEX api_keys_hash_idx ON public.api_keys USING btree (key_hash)",
    ),
    ("api_keys_tenant_idx", "api_keys", "USING btree (tenant_id)"),
    ("documents_tenant_project_idx", "documents", "USING btree (tenant_id, project_id)"),
    ("documents_status_idx", "documents", "USING btree (status)"),
    ("documents_content_hash_idx", "documents", "USING btree (tenant_id, content_hash)"),
    ("documents_external_id_idx", "documents", "USING btree (tenant_id, external_id)"),
    ("chunks_document_idx", "chunks", "USING btree (document_id)"),
    ("chunks_tenant_project_idx", "chunks", "USING btree (tenant_id, project_id)"),
    ("chunks_vector_id_idx", "chunks", "USING btree (vector_id)"),
    ("query_logs_tenant_project_idx", "query_logs", "USING btree (tenant_id, project_id)"),
    ("query_logs_created_at_idx", "query_logs", "USING btree (created_at)"),
    ("audit_logs_tenant_idx", "audit_logs", "USING btree (tenant_id)"),
    ("audit_logs_created_at_idx", "audit_logs", "USING btree (created_at)"),
    ("audit_logs_action_idx", "audit_logs", "USING btree (tenant_id, action)"),
    (
        "chunks_embedding_hnsw_idx",
        "chunks",
        "USING hnsw (embedding vector_cosine_ops) WITH (m='16', ef_construction='200')",
    ),
]


@pytest.fixture(scope="module")
def columns(db: Container) -> dict[tuple[str, str], tuple[str, bool, str]]:
    rows = db.psql(
        "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
        "coalesce(pg_get_expr(d.adbin, d.adrelid), '') "
        "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
        " AND a.attnum > 0 AND NOT a.attisdropped"
    )
    out = {}
    for line in rows.splitlines():
        table, column, typ, notnull, default = line.split("|", 4)
        out[(table, column)] = (typ.removeprefix("public."), notnull == "t", default)
    return out


@pytest.mark.parametrize(
    ("table", "column", "typ", "not_null", "default"),
    SPEC_COLUMNS,
    ids=[f"{c[0]}.{c[1]}" for c in SPEC_COLUMNS],
)
def test_spec_column(
    columns, table: str, column: str, typ: str, not_null: bool, default: str | None
) -> None:
    """Each spec column exists with its type, nullability and default."""
    assert (table, column) in columns, f"{table}.{column} is missing"
    actual_type, actual_not_null, actual_default = columns[(table, column)]
    assert actual_type == typ
    assert actual_not_null == not_null
    if default is None:
        assert actual_default == ""
    else:
        assert default in actual_default


@pytest.mark.parametrize("table", SKETCHED_TABLES)
def test_sketched_table_follows_the_pattern(columns, table: str) -> None:
    """The five sketched tables have uuid id, tenant_id NOT NULL, timestamptz created_at, jsonb metadata."""
    assert columns[(table, "id")][0] == UUID
    assert columns[(table, "tenant_id")][:2] == (UUID, True)
    assert columns[(table, "created_at")][:2] == (TSTZ, True)
    assert columns[(table, "metadata")][:2] == (JSONB, True)


@pytest.mark.parametrize(("enum", "values"), sorted(SPEC_ENUMS.items()))
def test_spec_enum(db: Container, enum: str, values: list[str]) -> None:
    """Each enum of enums.ts exists with the same values in the same order."""
    got = db.psql(
        "SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder) FROM pg_enum e "
        f"JOIN pg_type t ON t.oid = e.enumtypid WHERE t.typname = '{enum}'"
    )
    assert got.split(",") == values


@pytest.mark.parametrize(
    ("table", "column", "parent", "on_delete"),
    SPEC_FOREIGN_KEYS,
    ids=[f"{f[0]}.{f[1]}" for f in SPEC_FOREIGN_KEYS],
)
def test_spec_foreign_key(
    db: Container, table: str, column: str, parent: str, on_delete: str
) -> None:
    """Each spec FK exists (possibly widened by tenant_id) with the spec's ON DELETE rule."""
    found = db.psql(
        "SELECT count(*) FROM pg_constraint k "
        "JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = ANY (k.conkey) "
        f"WHERE k.contype = 'f' AND k.conrelid = 'public.{table}'::regclass "
        f"AND k.confrelid = 'public.{parent}'::regclass AND a.attname = '{column}' "
        f"AND k.confdeltype = '{on_delete}'"
    )
    assert int(found) >= 1


@pytest.mark.parametrize(
    ("name", "table", "fragment"), SPEC_INDEXES, ids=[i[0] for i in SPEC_INDEXES]
)
def test_spec_index(db: Container, name: str, table: str, fragment: str) -> None:
    """Each spec index exists on its table with the spec's columns, and is valid."""
    definition = db.psql(
        f"SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND indexname = '{name}' "
        f"AND tablename = '{table}'"
    )
    assert fragment in definition
    assert (
        db.psql(f"SELECT indisvalid FROM pg_index WHERE indexrelid = 'public.{name}'::regclass")
        == "t"
    )


@pytest.mark.parametrize("table", ALL_TABLES)
def test_table_owned_by_ci_owner(db: Container, table: str) -> None:
    """Every application table belongs to the NOLOGIN ci_owner role."""
    assert (
        db.psql(
            f"SELECT tableowner FROM pg_tables WHERE schemaname = 'public' AND tablename = '{table}'"
        )
        == "ci_owner"
    )


def test_no_object_owned_by_a_login_role(db: Container) -> None:
    """Nothing in the application schema is owned by a role that can log in.

    Extension members (pg_stat_statements' views) belong to the superuser that created them.
    """
    owned = db.psql(
        "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner "
        "WHERE c.relnamespace = 'public'::regnamespace AND r.rolcanlogin AND NOT EXISTS "
        "(SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid "
        "AND d.deptype = 'e')"
    )
    assert owned == "0"


def test_updated_at_is_maintained_on_update(db: Container) -> None:
    """An UPDATE moves updated_at forward without the client setting it."""
    slug = f"t-{uuid.uuid4().hex[:12]}"
    db.psql(
        f"INSERT INTO tenants (name, slug, updated_at) VALUES ('x', '{slug}', now() - interval '1 day')"
    )
    db.psql(f"UPDATE tenants SET name = 'y' WHERE slug = '{slug}'")
    assert (
        db.psql(
            f"SELECT updated_at > now() - interval '1 minute' FROM tenants WHERE slug = '{slug}'"
        )
        == "t"
    )
    db.psql(f"DELETE FROM tenants WHERE slug = '{slug}'")


@pytest.fixture
def two_tenants(db: Container) -> Iterator[dict[str, dict[str, str]]]:
    """Tenants A and B, each with a project and a document (superuser: FKs still apply)."""
    ids: dict[str, dict[str, str]] = {}
    for label in ("a", "b"):
        slug = f"fk-{label}-{uuid.uuid4().hex[:10]}"
        tenant, project, document = db.psql(
            "WITH t AS (INSERT INTO tenants (name, slug) VALUES ('fk', '"
            + slug
            + "') RETURNING id),"
            " p AS (INSERT INTO projects (tenant_id, name) SELECT id, 'p' FROM t RETURNING id, tenant_id),"
            " d AS (INSERT INTO documents (tenant_id, project_id, connector_type, title, mime_type,"
            " content_hash) SELECT tenant_id, id, 'direct-upload', 'd', 'text/plain', repeat('0', 64)"
            " FROM p RETURNING id, project_id, tenant_id)"
            " SELECT tenant_id || '|' || project_id || '|' || id FROM d"
        ).split("|")
        ids[label] = {"tenant": tenant, "project": project, "document": document}
    yield ids
    db.psql(f"DELETE FROM tenants WHERE id IN ('{ids['a']['tenant']}', '{ids['b']['tenant']}')")


def insert_document(db: Container, tenant: str, project: str) -> None:
    db.psql(
        "INSERT INTO documents (tenant_id, project_id, connector_type, title, mime_type,"
        f" content_hash) VALUES ('{tenant}', '{project}', 'direct-upload', 'x', 'text/plain',"
        " repeat('0', 64))"
    )


def insert_chunk(db: Container, document: str, tenant: str, project: str) -> None:
    db.psql(
        "INSERT INTO chunks (document_id, tenant_id, project_id, content, token_count,"
        f" chunk_index, vector_id) VALUES ('{document}', '{tenant}', '{project}', 'c', 1, 0, 'v')"
    )


def test_document_in_another_tenants_project_is_refused(db: Container, two_tenants) -> None:
    """A document of tenant B cannot live in tenant A's project."""
    a, b = two_tenants["a"], two_tenants["b"]
    insert_document(db, a["tenant"], a["project"])  # the control: the same row in its own tenant
    with pytest.raises(ProcessExecutionError, match="violates foreign key constraint"):
        insert_document(db, b["tenant"], a["project"])


def test_chunk_of_another_tenants_document_is_refused(db: Container, two_tenants) -> None:
    """A chunk of tenant B cannot point at tenant A's document."""
    a, b = two_tenants["a"], two_tenants["b"]
    insert_chunk(db, a["document"], a["tenant"], a["project"])
    with pytest.raises(ProcessExecutionError, match="violates foreign key constraint"):
        insert_chunk(db, a["document"], b["tenant"], b["project"])


def test_chunk_in_a_project_other_than_its_documents_is_refused(db: Container, two_tenants) -> None:
    """A chunk's denormalized project_id must be its document's project."""
    a = two_tenants["a"]
    other = db.psql(
        f"INSERT INTO projects (tenant_id, name) VALUES ('{a['tenant']}', 'p2') RETURNING id"
    )
    with pytest.raises(ProcessExecutionError, match="violates foreign key constraint"):
        insert_chunk(db, a["document"], a["tenant"], other.splitlines()[0])


def test_vector_dims_works_on_chunks_embedding(db: Container) -> None:
    """The spec's check: vector_dims works, and the embedding column is 1024-dimensional."""
    assert db.psql("SELECT vector_dims(array_fill(0.5, ARRAY[1024])::vector(1024))") == "1024"


# -- extensions live in their own schema (the contract's `extensions`) ------------------------
EXTENSIONS = ["vector", "pg_trgm", "uuid-ossp", "pg_stat_statements"]
USAGE_ROLES = ["ci_owner", "ci_migrator", "ci_app", "ci_readonly", "ci_admin", "ci_monitor"]


@pytest.mark.parametrize("extension", EXTENSIONS)
def test_extension_lives_in_the_extensions_schema(db: Container, extension: str) -> None:
    """Each extension is installed in `extensions`, not in `public`."""
    where = db.psql(
        f"SELECT extnamespace::regnamespace FROM pg_extension WHERE extname = '{extension}'"
    )
    assert where == "extensions"


def test_extensions_schema_is_the_superusers_and_no_one_else_may_create_in_it(
    db: Container,
) -> None:
    """Owned by a superuser; CREATE for no other role; USAGE for the five application roles."""
    owner_is_super = db.psql(
        "SELECT r.rolsuper FROM pg_namespace n JOIN pg_roles r ON r.oid = n.nspowner"
        " WHERE n.nspname = 'extensions'"
    )
    assert owner_is_super == "t"
    creators = db.psql(
        "SELECT string_agg(rolname, ',') FROM pg_roles WHERE NOT rolsuper"
        " AND has_schema_privilege(oid, 'extensions', 'CREATE')"
    )
    assert creators == ""
    users = db.psql(
        "SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles WHERE NOT rolsuper"
        " AND rolname NOT LIKE 'pg\\_%' AND has_schema_privilege(oid, 'extensions', 'USAGE')"
    )
    assert users.split(",") == sorted(USAGE_ROLES)


def test_public_holds_only_the_applications_objects(db: Container) -> None:
    """No extension member and nothing owned by anyone but ci_owner / ci_auth_lookup in public."""
    strays = db.psql("""
        SELECT string_agg(kind || ' ' || name, ', ') FROM (
          SELECT 'relation' AS kind, oid::regclass::text AS name, relowner AS owner, oid,
                 'pg_class'::regclass AS catalog
            FROM pg_class WHERE relnamespace = 'public'::regnamespace
          UNION ALL SELECT 'function', oid::regprocedure::text, proowner, oid, 'pg_proc'::regclass
            FROM pg_proc WHERE pronamespace = 'public'::regnamespace
          UNION ALL SELECT 'type', oid::regtype::text, typowner, oid, 'pg_type'::regclass
            FROM pg_type WHERE typnamespace = 'public'::regnamespace
          UNION ALL SELECT 'operator', oid::regoperator::text, oprowner, oid,
                 'pg_operator'::regclass
            FROM pg_operator WHERE oprnamespace = 'public'::regnamespace
          UNION ALL SELECT 'operator class', opcname, opcowner, oid, 'pg_opclass'::regclass
            FROM pg_opclass WHERE opcnamespace = 'public'::regnamespace
          UNION ALL SELECT 'operator family', opfname, opfowner, oid, 'pg_opfamily'::regclass
            FROM pg_opfamily WHERE opfnamespace = 'public'::regnamespace
        ) o
        WHERE o.owner NOT IN ('ci_owner'::regrole, 'ci_auth_lookup'::regrole)
           OR EXISTS (SELECT FROM pg_depend d WHERE d.classid = o.catalog AND d.objid = o.oid
                      AND d.deptype = 'e')
    """)
    assert strays == ""


def test_app_runs_extension_functions_and_operators_unqualified(connect) -> None:
    """ci_app resolves vector, <=>, trigram similarity and uuid_generate_v4() by search_path."""
    app = connect("app")
    row = app.execute(
        "SELECT '[1,0,0]'::vector <=> '[0,1,0]'::vector, similarity('ci-db', 'ci_db') > 0,"
        " uuid_generate_v4() IS NOT NULL"
    ).fetchone()
    assert row == (1.0, True, True)
    with app.transaction():
        app.execute("SELECT set_config('app.tenant_id', %s, true)", (str(uuid.uuid4()),))
        nearest = app.execute(
            "SELECT id FROM chunks ORDER BY embedding <=> array_fill(0.5, ARRAY[1024])::vector"
            " LIMIT 5"
        ).fetchall()
    assert nearest == []
