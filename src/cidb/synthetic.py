"""Deterministic synthetic tenants: every table filled with realistic, constraint-respecting rows.

Everything is a function of (seed, tenant index): ids are uuid5 names, numbers come from RNGs
seeded with both, and timestamps lie in the 180 days before a fixed ANCHOR. The same seed
therefore gives the same rows, byte for byte, in any database (but for audit_logs' id and
created_at, which only the server may set); tenants are independent, so one can be generated
without the others. Rows name their columns; types and NOT NULLs are the database's own (the
catalog, read by cidb.seed, which writes them). Nothing here touches a database.

Embeddings come from cidb.embeddings: a topic is a cluster of its latent space, so chunks of one
document sit close together and documents of one topic nearby.

The data carries public credentials (every user's password is SYNTHETIC_PASSWORD, API keys
follow from the seed): it is for development and benchmark databases only.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import numpy as np
from psycopg.types.json import Jsonb

from cidb.embeddings import DIM, Vectors, centres, embed, projection

ANCHOR = datetime(2026, 11, 1, tzinfo=UTC)
HISTORY = timedelta(days=180)
_MS = timedelta(milliseconds=1)
NAMESPACE = uuid.UUID("5d3c2b8e-6f1a-4c0e-9a77-3b1f0e2d9c41")
SYNTHETIC_PASSWORD = "synthetic-password"
STATUSES = ("indexed", "embedding", "processing", "pending", "failed", "deleted")
STATUS_WEIGHTS = (0.85, 0.03, 0.03, 0.03, 0.03, 0.03)
CHUNKED = frozenset({"indexed", "embedding"})
PLANS = ("free", "starter", "pro", "enterprise")
REGIONS = ("us", "eu", "apac")
CONNECTOR_STATUSES = ("active", "paused", "error", "disconnected")

# The tables a tenant's rows fill, every parent before its children. Their columns, types and
# NOT NULLs are the database's: cidb.seed reads them from the catalog and checks the rows' names.
TENANT_TABLES = (
    "users", "api_keys", "projects", "connectors", "documents", "chunks", "conversations",
    "query_logs", "usage_events", "audit_logs",
)  # fmt: skip

TOPICS: dict[str, tuple[str, ...]] = {
    "billing": ("invoice", "subscription", "refund", "payment", "proration", "receipt", "tax"),
    "security": ("token", "credential", "firewall", "audit", "certificate", "role", "secret"),
    "onboarding": ("workspace", "invitation", "checklist", "trial", "tutorial", "template"),
    "infrastructure": ("cluster", "replica", "backup", "deployment", "latency", "node", "queue"),
    "product": ("feature", "roadmap", "release", "feedback", "experiment", "dashboard"),
    "sales": ("pipeline", "quota", "prospect", "contract", "renewal", "discount", "forecast"),
    "legal": ("agreement", "clause", "liability", "retention", "consent", "jurisdiction"),
    "people": ("benefit", "review", "hiring", "payroll", "leave", "handbook", "offsite"),
    "support": ("ticket", "escalation", "macro", "outage", "workaround", "response", "sla"),
    "analytics": ("metric", "cohort", "funnel", "report", "segment", "warehouse", "event"),
}
VERBS = (
    "updates", "validates", "replaces", "archives", "exports", "reviews", "syncs", "blocks",
    "approves", "schedules", "rotates", "summarises", "migrates", "tracks", "flags", "merges",
)  # fmt: skip
ADJECTIVES = (
    "quarterly", "pending", "regional", "shared", "legacy", "primary", "manual", "automatic",
    "monthly", "critical", "internal", "external", "default", "annual", "temporary", "new",
)  # fmt: skip
LINKS = ("because", "when", "after", "before", "unless", "while", "so that", "once")
ADVERBS = ("daily", "on request", "every week", "at month end", "within one hour", "by default")
FIRST_NAMES = (
    "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret", "Linus",
    "Radia", "Dennis", "Shafi", "Tim", "Sophie", "Niklaus", "Katherine", "John", "Leslie", "Anita",
)  # fmt: skip
LAST_NAMES = (
    "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Hamilton",
    "Torvalds", "Perlman", "Ritchie", "Goldwasser", "Berners-Lee", "Wilson", "Wirth", "Johnson",
)  # fmt: skip
COMPANY_WORDS = (
    "Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Tyrell", "Soylent", "Hooli",
    "Vandelay", "Cyberdyne", "Aperture", "Gringotts", "Wonka", "Oscorp", "Monarch", "Massive",
)  # fmt: skip
COMPANY_SUFFIXES = ("Labs", "Systems", "Analytics", "Health", "Logistics", "Bank", "Studios")
PROJECT_NAMES = (
    "Engineering Handbook", "Customer Support", "Sales Enablement", "Product Docs",
    "Legal and Compliance", "People Ops", "Security Center", "Data Platform", "Partner Portal",
    "Marketing Site",
)  # fmt: skip
# Connector type -> (MIME types, source URL template); direct uploads have no connector.
SOURCES: dict[str, tuple[tuple[str, ...], str]] = {
    "notion": (("text/markdown",), "https://www.notion.so/{slug}/{ext}"),
    "slack": (("text/plain",), "https://{slug}.slack.com/archives/{ext}"),
    "gmail": (("message/rfc822",), "https://mail.google.com/mail/u/0/#all/{ext}"),
    "github": (("text/markdown", "text/x-python"), "https://github.com/{slug}/docs/blob/main/{ext}"),
    "confluence": (("text/html",), "https://{slug}.atlassian.net/wiki/pages/{ext}"),
    "jira": (("application/json",), "https://{slug}.atlassian.net/browse/{ext}"),
    "sharepoint": (
        ("application/pdf", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),  # noqa: E501
        "https://{slug}.sharepoint.com/sites/docs/{ext}",
    ),
    "google-drive": (("application/pdf", "application/vnd.google-apps.document"),
                     "https://drive.google.com/file/d/{ext}"),
    "web-crawler": (("text/html",), "https://docs.{slug}.example/{ext}"),
    "direct-upload": (("application/pdf", "text/plain", "text/markdown"), ""),
}  # fmt: skip
FAILURES = (
    "unsupported file type",
    "text extraction timed out after 300 s",
    "source returned 403 Forbidden",
    "PDF is encrypted",
)
QUERY_FAILURES = ("generation model timed out", "rate limited by the model provider")
MEMBER_ROLES = ("member", "member", "member", "viewer")
KEY_NAMES = ("Production API", "Staging", "CI pipeline", "Analytics export", "Mobile app")
KEY_SCOPES = (
    ["documents:read", "documents:write", "query"],
    ["documents:read", "query"],
    ["query"],
)
PROJECT_SETTINGS = {
    "chunkSize": 512,
    "chunkOverlap": 64,
    "embeddingModel": "embed-english-v3.0",
    "dimensions": DIM,
    "topK": 8,
    "vectorStore": "pgvector",
}
MODELS = ("gpt-4o-mini", "claude-3-5-haiku", "llama-3.1-70b-instruct")
USER_AGENTS = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/130.0 Safari/537.36",
    "contextinject-python/1.4.2",
    "contextinject-node/2.0.1",
)


@dataclass(frozen=True)
class Spec:
    """What to generate: TENANTS tenants of DOCUMENTS documents, chunked in CHUNKS each."""

    tenants: int
    documents: int
    chunks_per_document: int
    seed: int

    def __post_init__(self) -> None:
        if self.tenants < 1 or self.documents < 1 or self.chunks_per_document < 1:
            raise ValueError("tenants, documents and chunks per document must be at least 1")
        if not 0 <= self.seed < 2**63:
            raise ValueError("the seed must be an integer in 0 .. 2**63 - 1")

    @property
    def users(self) -> int:
        return 3 + self.documents // 200

    @property
    def api_keys(self) -> int:
        return 2 + self.documents // 1000

    @property
    def projects(self) -> int:
        return min(len(PROJECT_NAMES), 1 + self.documents // 400)

    def plan(self, limits: dict[str, Any]) -> str:
        """The smallest plan whose limits hold a tenant of this size."""
        need = {
            "maxDocuments": self.documents,
            "maxUsers": self.users,
            "maxApiKeys": self.api_keys,
            "maxProjects": self.projects,
            "maxConnectors": 2 * self.projects,
        }
        for plan in PLANS:
            if all(limits[plan][name] >= value for name, value in need.items()):
                return plan
        return PLANS[-1]

    def slug(self, index: int) -> str:
        return f"synthetic-{self.seed}-{index + 1:04d}"

    def tenant_id(self, index: int) -> uuid.UUID:
        return uuid.uuid5(NAMESPACE, f"{self.seed}/{index}/tenant")


@dataclass
class Rows:
    """One tenant's rows, table by table, in foreign-key order, and the columns they fill."""

    tenant_id: uuid.UUID
    tables: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def count(self) -> int:
        return sum(len(rows) for rows in self.tables.values())


Connector = tuple[uuid.UUID, str]


@dataclass(frozen=True)
class Asker:
    """Who asked a query: a dashboard user or an API key, inside a conversation or not."""

    user_id: uuid.UUID | None
    api_key_id: uuid.UUID | None
    conversation_id: uuid.UUID | None


@dataclass
class _Doc:
    """What later tables need to know about a generated document."""

    id: uuid.UUID
    project: int
    topic: str
    status: str
    created: datetime
    indexed: datetime | None = None
    size: int = 0
    tokens: int = 0
    chunk_ids: list[uuid.UUID] = field(default_factory=list)
    contents: list[str] = field(default_factory=list)


def raw_api_key(seed: int, index: int, number: int, environment: str) -> str:
    """The synthetic key whose SHA-256 is stored (derivable from the seed: never for prod)."""
    digest = hashlib.sha256(f"synthetic/{seed}/{index}/{number}".encode()).hexdigest()
    return f"ci_{environment}_{digest}"


def password_hash(seed: int) -> str:
    """argon2id of SYNTHETIC_PASSWORD with a salt from the seed, so reruns store the same hash."""
    from argon2 import PasswordHasher
    from argon2.low_level import Type, hash_secret

    ph = PasswordHasher()
    salt = hashlib.sha256(f"synthetic-salt/{seed}".encode()).digest()[:16]
    return hash_secret(
        SYNTHETIC_PASSWORD.encode(), salt, ph.time_cost, ph.memory_cost, ph.parallelism,
        ph.hash_len, Type.ID,
    ).decode()  # fmt: skip


@cache
def _embedding_model(seed: int) -> tuple[Vectors, dict[str, Vectors]]:
    """The run's "model": one latent->DIM projection and a latent centre per topic."""
    rng = np.random.default_rng([seed, 2**32])
    matrix = projection(rng)
    return matrix, dict(zip(TOPICS, centres(rng, len(TOPICS)), strict=True))


def tenant_row(spec: Spec, index: int, limits: dict[str, Any]) -> dict[str, Any]:
    """The tenants row (written by ci_admin: the app may not create tenants)."""
    r = random.Random(f"{spec.seed}/{index}")
    plan = spec.plan(limits)
    created = ANCHOR - HISTORY - timedelta(days=r.randint(1, 365))
    stripe = None if plan == "free" else f"cus_{uuid.uuid5(NAMESPACE, spec.slug(index)).hex[:14]}"
    name = f"{r.choice(COMPANY_WORDS)} {r.choice(COMPANY_SUFFIXES)} {index + 1}"
    return dict(
        id=spec.tenant_id(index), name=name, slug=spec.slug(index), plan=plan,
        region=REGIONS[index % len(REGIONS)], settings=Jsonb(limits[plan]),
        stripe_customer_id=stripe, created_at=created,
        updated_at=created + timedelta(days=r.randint(0, 30)),
    )  # fmt: skip


class _Tenant:
    """Generates one tenant's rows; one instance per (spec, index)."""

    def __init__(self, spec: Spec, index: int, password: str) -> None:
        self.spec = spec
        self.index = index
        self.password = password
        self.id = spec.tenant_id(index)
        self.slug = spec.slug(index)
        self.r = random.Random(f"{spec.seed}/{index}")
        self.np = np.random.default_rng([spec.seed, index])
        self.rows = Rows(self.id, {table: [] for table in TENANT_TABLES})
        self.bank = {t: [self._sentence(t) for _ in range(48)] for t in TOPICS}

    # -- helpers ---------------------------------------------------------------------------
    def uid(self, table: str, number: int | str) -> uuid.UUID:
        return uuid.uuid5(NAMESPACE, f"{self.spec.seed}/{self.index}/{table}/{number}")

    def add(self, table: str, **row: Any) -> None:
        """A row of TABLE by column name (each table has one call site, so one column order)."""
        self.rows.columns.setdefault(table, tuple(row))
        self.rows.tables[table].append(tuple(row.values()))

    def when(self, after: datetime | None = None, within: timedelta = HISTORY) -> datetime:
        """A time up to WITHIN after AFTER (default: in the history window), in whole ms."""
        start = after or ANCHOR - HISTORY
        span = min(within, ANCHOR - start)
        return start + timedelta(milliseconds=self.r.randrange(max(1, span // _MS)))

    def _sentence(self, topic: str) -> str:
        r, nouns = self.r, TOPICS[topic]
        return (
            f"The {r.choice(ADJECTIVES)} {r.choice(nouns)} {r.choice(VERBS)} the {r.choice(nouns)}"
            f" {r.choice(LINKS)} the {r.choice(nouns)} {r.choice(VERBS)} {r.choice(ADVERBS)}."
        )

    def text(self, topic: str, sentences: int) -> str:
        bank = self.bank[topic]
        return " ".join(bank[i] for i in self.np.integers(0, len(bank), sentences))

    def question(self, topic: str) -> str:
        nouns = TOPICS[topic]
        return f"How does the {self.r.choice(nouns)} affect the {self.r.choice(nouns)}?"

    # -- tables, parents first -------------------------------------------------------------
    def generate(self) -> Rows:
        users = self.users()
        keys = self.api_keys()
        projects = self.projects()
        connectors = self.connectors(projects)
        docs = [self.document(n, s, projects, connectors) for n, s in enumerate(self.statuses())]
        self.chunks(docs, projects)
        hits = self.indexed_chunks(docs)
        for n in range(max(1, self.spec.documents // 50)):
            self.conversation(n, projects, users, hits)
        for n in range(max(2, self.spec.documents // 5)):
            self.api_or_dashboard_query(n, projects, users, keys, hits)
        self.ingestion_usage(docs, projects)
        self.audit(users, keys, projects, connectors, docs)
        return self.rows

    def users(self) -> list[tuple[uuid.UUID, datetime]]:
        made = []
        for n in range(self.spec.users):
            role = ("owner", "admin")[n] if n < 2 else self.r.choice(MEMBER_ROLES)
            first, last = self.r.choice(FIRST_NAMES), self.r.choice(LAST_NAMES)
            created = self.when()
            verified = n == 0 or self.r.random() < 0.9
            login = self.when(created) if verified else None
            email = f"{first}.{last}.{n}@{self.slug}.example".lower()
            user_id = self.uid("users", n)
            self.add(
                "users", id=user_id, tenant_id=self.id, email=email, name=f"{first} {last}",
                role=role, password_hash=self.password, email_verified=verified,
                last_login_at=login, created_at=created, updated_at=login or created,
            )  # fmt: skip
            made.append((user_id, created))
        return made

    def api_keys(self) -> list[uuid.UUID]:
        made = []
        for n in range(self.spec.api_keys):
            environment = "test" if n % 3 == 1 else "live"
            raw = raw_api_key(self.spec.seed, self.index, n, environment)
            created = self.when()
            expires = created + timedelta(days=30) if n == 2 else None  # one has expired
            scopes = KEY_SCOPES[n % len(KEY_SCOPES)]
            key_id = self.uid("api_keys", n)
            self.add(
                "api_keys", id=key_id, tenant_id=self.id,
                key_hash=hashlib.sha256(raw.encode()).hexdigest(), prefix=raw[:16],
                name=f"{KEY_NAMES[n % len(KEY_NAMES)]} {n + 1}", scopes=Jsonb(scopes),
                environment=environment, last_used_at=self.when(created), expires_at=expires,
                created_at=created,
            )  # fmt: skip
            made.append(key_id)
        return made

    def projects(self) -> list[tuple[uuid.UUID, str]]:
        made = []
        topics = list(TOPICS)
        for n in range(self.spec.projects):
            topic = topics[(self.index + n) % len(topics)]
            created = self.when(within=timedelta(days=30))
            project_id = self.uid("projects", n)
            self.add(
                "projects", id=project_id, tenant_id=self.id, name=PROJECT_NAMES[n],
                description=f"Knowledge base for {topic} questions",
                settings=Jsonb(PROJECT_SETTINGS), metadata=Jsonb({"topic": topic}),
                created_at=created, updated_at=created,
            )  # fmt: skip
            made.append((project_id, topic))
        return made

    def connectors(self, projects: Sequence[tuple[uuid.UUID, str]]) -> list[list[Connector]]:
        """Two connectors per project, in every status; returns each project's [(id, type)]."""
        types = [t for t in SOURCES if t != "direct-upload"]
        per_project: list[list[Connector]] = []
        for p, (project_id, _topic) in enumerate(projects):
            mine = []
            for n in (2 * p, 2 * p + 1):
                kind, status = types[(self.index + n) % len(types)], CONNECTOR_STATUSES[n % 4]
                created = self.when(within=timedelta(days=30))
                synced = self.when(ANCHOR - timedelta(days=2))
                connector_id = self.uid("connectors", n)
                self.add(
                    "connectors", id=connector_id, tenant_id=self.id, project_id=project_id,
                    type=kind, name=f"{kind} sync {n + 1}", status=status,
                    config=Jsonb({"syncIntervalMinutes": 60, "scope": f"{kind}-{n}"}),
                    encrypted_credentials=self.np.bytes(48),
                    sync_state=Jsonb({"cursor": f"c-{self.r.getrandbits(40):x}"}),
                    last_synced_at=synced,
                    next_sync_at=synced + timedelta(hours=1) if status == "active" else None,
                    error_message="OAuth token expired; reconnect" if status == "error" else None,
                    metadata=Jsonb({}), created_at=created, updated_at=synced,
                )  # fmt: skip
                mine.append((connector_id, kind))
            per_project.append(mine)
        return per_project

    def statuses(self) -> list[str]:
        """One document in each status first, then draws weighted as in a live pipeline."""
        rest = max(0, self.spec.documents - len(STATUSES))
        return [*STATUSES, *self.r.choices(STATUSES, STATUS_WEIGHTS, k=rest)][: self.spec.documents]

    def document(
        self,
        n: int,
        status: str,
        projects: Sequence[tuple[uuid.UUID, str]],
        connectors: Sequence[Sequence[Connector]],
    ) -> _Doc:
        p = self.r.randrange(len(projects))
        project_id, project_topic = projects[p]
        topic = project_topic if self.r.random() < 0.7 else self.r.choice(list(TOPICS))
        connector_id, kind = None, "direct-upload"
        if self.r.random() < 0.75:
            connector_id, kind = self.r.choice(connectors[p])
        in_flight = status in {"pending", "processing", "embedding"}
        created = self.when(ANCHOR - timedelta(hours=6)) if in_flight else self.when()
        doc = _Doc(self.uid("documents", n), p, topic, status, created)
        if status in {"indexed", "deleted"}:
            doc.indexed = created + timedelta(seconds=self.r.randint(5, 600))
        if status in CHUNKED:
            self.chunk_texts(n, doc)
        self.document_row(n, doc, project_id, connector_id, kind)
        return doc

    def chunk_texts(self, n: int, doc: _Doc) -> None:
        k = self.spec.chunks_per_document
        doc.chunk_ids = [self.uid("chunks", f"{n}/{i}") for i in range(k)]
        doc.contents = [self.text(doc.topic, int(s)) for s in self.np.integers(8, 24, k)]
        doc.tokens = sum(len(c) // 4 for c in doc.contents)  # the usual ~4 characters per token

    def document_row(
        self, n: int, doc: _Doc, project_id: uuid.UUID, connector_id: Any, kind: str
    ) -> None:
        mimes, url = SOURCES[kind]
        external = None if kind == "direct-upload" else f"{kind}-{n:06d}"
        noun = self.r.choice(TOPICS[doc.topic])
        title = f"{self.r.choice(ADJECTIVES).title()} {noun} guide {n + 1}"
        body = "\n\n".join(doc.contents) or f"{self.slug}/{title}"
        doc.size = len(body.encode()) if doc.contents else self.r.randint(2_000, 2_000_000)
        deleted = self.when(doc.indexed) if doc.status == "deleted" else None
        self.add(
            "documents", id=doc.id, tenant_id=self.id, project_id=project_id,
            connector_id=connector_id, connector_type=kind, external_id=external, title=title,
            source_url=url.format(slug=self.slug, ext=external) if url else None,
            mime_type=self.r.choice(mimes), size_bytes=doc.size,
            content_hash=hashlib.sha256(body.encode()).hexdigest(), status=doc.status,
            chunk_count=len(doc.chunk_ids), token_count=doc.tokens,
            metadata=Jsonb({"language": "en", "tags": [doc.topic, noun]}),
            access_control=Jsonb({"isPublic": self.r.random() < 0.2, "groups": [doc.topic]}),
            error_message=self.r.choice(FAILURES) if doc.status == "failed" else None,
            created_at=doc.created, updated_at=deleted or doc.indexed or doc.created,
            indexed_at=doc.indexed, deleted_at=deleted,
        )  # fmt: skip

    def chunks(self, docs: Sequence[_Doc], projects: Sequence[tuple[uuid.UUID, str]]) -> None:
        """The chunked documents' chunks; embeddings only once a document is indexed."""
        chunked = [d for d in docs if d.chunk_ids]
        if not chunked:
            return
        vectors = iter(self.embeddings(chunked))
        for doc in chunked:
            project_id = projects[doc.project][0]
            for i, (chunk_id, content) in enumerate(zip(doc.chunk_ids, doc.contents, strict=True)):
                vector = next(vectors)
                self.add(
                    "chunks", id=chunk_id, document_id=doc.id, tenant_id=self.id,
                    project_id=project_id, content=content, token_count=len(content) // 4,
                    chunk_index=i, vector_id=str(chunk_id), metadata=Jsonb({"section": i + 1}),
                    created_at=doc.created + timedelta(seconds=i + 1),
                    embedding=vector if doc.status == "indexed" else None,
                )  # fmt: skip

    def embeddings(self, docs: Sequence[_Doc]) -> Vectors:
        """Unit vectors: topic centre + document offset + chunk offset, projected to DIM."""
        matrix, topic_centres = _embedding_model(self.spec.seed)
        latent = np.stack([topic_centres[d.topic] for d in docs])
        latent += 0.6 * self.np.standard_normal(latent.shape, dtype=np.float32)
        latent = np.repeat(latent, self.spec.chunks_per_document, axis=0)
        latent += 0.25 * self.np.standard_normal(latent.shape, dtype=np.float32)
        return embed(latent, matrix, self.np)

    def indexed_chunks(self, docs: Sequence[_Doc]) -> dict[int, list[tuple[str, str]]]:
        """Per project, the (chunk id, document id) pairs a query can retrieve."""
        found: dict[int, list[tuple[str, str]]] = {}
        for d in docs:
            if d.status == "indexed":
                found.setdefault(d.project, []).extend((str(c), str(d.id)) for c in d.chunk_ids)
        return found

    def conversation(
        self,
        n: int,
        projects: Sequence[tuple[uuid.UUID, str]],
        users: Sequence[tuple[uuid.UUID, datetime]],
        hits: dict[int, list[tuple[str, str]]],
    ) -> None:
        """A chat of 1-3 turns; each answer is also a query log of the conversation."""
        p = self.r.randrange(len(projects))
        project_id = projects[p][0]
        conversation_id = self.uid("conversations", n)
        dashboard = self.r.random() < 0.5
        asker = Asker(self.r.choice(users)[0] if dashboard else None, None, conversation_id)
        created = at = self.when()
        messages: list[dict[str, Any]] = []
        for turn in range(self.r.randint(1, 3)):
            question, answer, sources = self.query(f"c{n}/{turn}", p, projects, asker, at, hits)
            messages.append({"role": "user", "content": question, "created_at": at.isoformat()})
            replied = (at + timedelta(seconds=2)).isoformat()
            messages.append(
                {"role": "assistant", "content": answer, "sources": sources, "created_at": replied}
            )
            at += timedelta(minutes=self.r.randint(1, 20))
        self.add(
            "conversations", id=conversation_id, tenant_id=self.id, project_id=project_id,
            user_id=asker.user_id,
            external_user_id=None if dashboard else f"end-user-{self.r.randint(1, 500)}",
            title=messages[0]["content"], messages=Jsonb(messages),
            metadata=Jsonb({"channel": "dashboard" if dashboard else "api"}), created_at=created,
            updated_at=at,
        )  # fmt: skip

    def api_or_dashboard_query(
        self,
        n: int,
        projects: Sequence[tuple[uuid.UUID, str]],
        users: Sequence[tuple[uuid.UUID, datetime]],
        keys: Sequence[uuid.UUID],
        hits: dict[int, list[tuple[str, str]]],
    ) -> None:
        by_key = self.r.random() < 0.6
        asker = (
            Asker(None, self.r.choice(keys), None)
            if by_key
            else Asker(self.r.choice(users)[0], None, None)
        )
        self.query(f"q{n}", self.r.randrange(len(projects)), projects, asker, self.when(), hits)

    def query(
        self,
        name: str,
        p: int,
        projects: Sequence[tuple[uuid.UUID, str]],
        asker: Asker,
        at: datetime,
        hits: dict[int, list[tuple[str, str]]],
    ) -> tuple[str, str | None, list[dict[str, str]]]:
        """One query log and its usage; returns (question, answer, sources)."""
        project_id, topic = projects[p]
        pool = hits.get(p, [])
        found = self.r.sample(pool, min(len(pool), self.r.randint(3, 8)))
        failed = self.r.random() < 0.03
        retrieved, score = [], 0.92 - 0.1 * self.r.random()
        for chunk_id, document_id in found:
            retrieved.append({"chunk_id": chunk_id, "document_id": document_id, "score": score})
            score = round(score - 0.02 - 0.03 * self.r.random(), 4)
        question = self.question(topic)
        answer = None if failed else self.text(topic, self.r.randint(2, 5))
        prompt = 0 if failed else 120 + 380 * len(found)
        completion = len(answer or "") // 4
        log_id = self.uid("query_logs", name)
        self.add(
            "query_logs", id=log_id, tenant_id=self.id, project_id=project_id,
            conversation_id=asker.conversation_id, user_id=asker.user_id,
            api_key_id=asker.api_key_id, query=question, response=answer,
            retrieved_chunks=Jsonb(retrieved), result_count=len(retrieved),
            model=self.r.choice(MODELS), prompt_tokens=prompt, completion_tokens=completion,
            latency_ms=None if failed else self.r.randint(120, 2500),
            error_message=self.r.choice(QUERY_FAILURES) if failed else None, metadata=Jsonb({}),
            created_at=at,
        )  # fmt: skip
        self.usage(f"{log_id}:query", project_id, asker.api_key_id, "query", 1, "queries", at)
        if not failed:
            self.usage(
                f"{log_id}:tokens", project_id, asker.api_key_id, "generation.tokens",
                prompt + completion, "tokens", at,
            )  # fmt: skip
        sources = [{"chunk_id": c, "document_id": d} for c, d in found]
        return question, answer, sources

    def usage(
        self,
        key: str,
        project_id: uuid.UUID | None,
        api_key_id: uuid.UUID | None,
        kind: str,
        quantity: int,
        unit: str,
        at: datetime,
    ) -> None:
        """A billing event; those older than a day have been reported to the billing provider."""
        reported = at + timedelta(hours=1) if at < ANCHOR - timedelta(days=1) else None
        self.add(
            "usage_events", id=self.uid("usage_events", key), tenant_id=self.id,
            project_id=project_id, api_key_id=api_key_id, event_type=kind, quantity=quantity,
            unit=unit, idempotency_key=key, reported_at=reported, metadata=Jsonb({}),
            created_at=at,
        )  # fmt: skip

    def ingestion_usage(
        self, docs: Sequence[_Doc], projects: Sequence[tuple[uuid.UUID, str]]
    ) -> None:
        """Per ingested document its embedding tokens; per day the tenant's stored bytes."""
        stored = 0
        for doc in docs:
            if doc.indexed is None:
                continue
            project_id = projects[doc.project][0]
            self.usage(
                f"{doc.id}:ingest", project_id, None, "documents.ingested", 1, "documents",
                doc.indexed,
            )  # fmt: skip
            if doc.tokens:
                self.usage(
                    f"{doc.id}:embedding", project_id, None, "embedding.tokens", doc.tokens,
                    "tokens", doc.indexed,
                )  # fmt: skip
            stored += doc.size
        for day in range(1, 31):
            at = ANCHOR - timedelta(days=day)
            self.usage(f"storage:{at:%Y-%m-%d}", None, None, "storage.bytes", stored, "bytes", at)

    def audit(
        self,
        users: Sequence[tuple[uuid.UUID, datetime]],
        keys: Sequence[uuid.UUID],
        projects: Sequence[tuple[uuid.UUID, str]],
        connectors: Sequence[Sequence[Connector]],
        docs: Sequence[_Doc],
    ) -> None:
        owner = users[0][0]
        for user_id, created in users:
            for _ in range(self.r.randint(1, 4)):
                self.audit_row(user_id, None, "user.login", "user", user_id, self.when(created))
        for key_id in keys:
            self.audit_row(owner, None, "api_key.create", "api_key", key_id, self.when())
        for project_id, _topic in projects:
            self.audit_row(owner, None, "project.create", "project", project_id, self.when())
        for connector_id, _kind in (c for mine in connectors for c in mine):
            self.audit_row(owner, None, "connector.create", "connector", connector_id, self.when())
        for doc in docs:
            if doc.status == "deleted":
                at = self.when(doc.created)
                self.audit_row(owner, None, "document.delete", "document", doc.id, at)
            elif self.r.random() < 0.1:
                key = self.r.choice(keys)
                self.audit_row(None, key, "document.create", "document", doc.id, doc.created)

    def audit_row(
        self,
        user_id: uuid.UUID | None,
        key_id: uuid.UUID | None,
        action: str,
        kind: str,
        resource: uuid.UUID,
        at: datetime,
    ) -> None:
        v4 = self.r.random() < 0.8
        # Documentation address ranges (RFC 5737, RFC 3849): realistic, never anyone's.
        ip = (
            f"203.0.113.{self.r.randint(1, 254)}" if v4 else f"2001:db8::{self.r.getrandbits(16):x}"
        )
        source = "dashboard" if user_id else "api"
        self.add(
            "audit_logs", tenant_id=self.id, user_id=user_id, api_key_id=key_id, action=action,
            resource_type=kind, resource_id=resource,
            metadata=Jsonb({"source": source, "occurred_at": at.isoformat()}), ip_address=ip,
            user_agent=self.r.choice(USER_AGENTS),
        )  # fmt: skip


def tenant_rows(spec: Spec, index: int, password: str) -> Rows:
    """Every row of tenant INDEX except its tenants row, in foreign-key order."""
    return _Tenant(spec, index, password).generate()
