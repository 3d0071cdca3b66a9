# ci-db: PostgreSQL 17 + pgvector for multi-tenant RAG, and its PgBouncer sidecar.
# Targets: postgres (default, last in this file) -> ci-db:17; pgbouncer -> ci-db-pgbouncer:17;
# ci -> ci-db:17-ci (docs/ci.md). postgres, ci and ha (ci-db:17-ha) build on the server stage;
# etcd and haproxy are compose.ha.yaml's other images (ci-db-etcd:17, ci-db-haproxy:17).
# The compose `metrics` profile (README "Observability"): postgres-exporter ->
# ci-db-postgres-exporter:17, pgbouncer-exporter -> ci-db-pgbouncer-exporter:17, prometheus ->
# ci-db-prometheus:17 (Prometheus with ci-db's scrape config and alert rules; promtool too).
# No "# syntax=" line on purpose: it would pull a frontend image from a registry.

ARG BASE_IMAGE=debian:trixie-slim
# Exact Debian versions: a rebuild gets the same bits or fails (tests check what runs).
ARG PG_MAJOR=17
ARG PG_VERSION=17.12-0+deb13u1
ARG PGVECTOR_DEB_VERSION=0.8.6-1

# ---------------------------------------------------------------------------------------------
FROM ${BASE_IMAGE} AS debian-base
ENV LANG=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive
# Recommends would drag in hundreds of MB (perl docs, locales, llvm) we never use.
# Same uid/gid 999 as the official image, so volumes move between the two.
RUN set -eux; \
    printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
        > /etc/apt/apt.conf.d/01-ci-db-no-recommends; \
    groupadd --system --gid 999 postgres; \
    useradd --system --uid 999 --gid 999 --home-dir /var/lib/postgresql --shell /bin/bash postgres; \
    mkdir -p /var/lib/postgresql; chown postgres:postgres /var/lib/postgresql
COPY docker/file-env.sh /usr/local/lib/ci-db/file-env.sh

# ---------------------------------------------------------------------------------------------
# pgvector >= 0.8.2: trixie ships 0.8.0 (CVE-2026-3172, overflow in parallel HNSW builds).
# Build Debian unstable's source package against trixie's server headers. Fetched from the
# archive's pool by exact file name and SHA-256 (sid's index moves faster than its pool, so
# `apt-get source` cannot pin a version); when the pinned files are gone the build stops here.
FROM debian-base AS pgvector-build
ARG PG_MAJOR
ARG DEBIAN_MIRROR=http://deb.debian.org/debian
ARG PGVECTOR_UPSTREAM=0.8.6
ARG PGVECTOR_DEB_VERSION
ARG PGVECTOR_ORIG_SHA256=25c9b78cfdaa43c66788d7490246ac24e4fe1c86f19c4b60c089b723f84a4a0d
ARG PGVECTOR_DEBIAN_SHA256=3bbb17a5352900ea6534363399f519967d8c8bb0907f31e29af9ce03d2ed95c4
ARG PGVECTOR_DSC_SHA256=d08de2aa48b7cb70319cc896aa3d95514690d1009f96579dbe6b23c59634f4e6
# Build tools stay unpinned: this stage is thrown away, and what it produces is pinned by hash
# (inputs) and by version (the .deb); cd is needed because dpkg-buildpackage works in its tree.
# hadolint ignore=DL3003,DL3008
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends build-essential debhelper dpkg-dev fakeroot \
        postgresql-server-dev-${PG_MAJOR} postgresql-common; \
    mkdir -p /build /out; cd /build; \
    pool="${DEBIAN_MIRROR}/pool/main/p/pgvector"; \
    fetch() { \
        /usr/lib/apt/apt-helper download-file "$pool/$1" "$1" "SHA256:$2" || { \
            echo "FATAL: pinned pgvector source $1 (SHA256 $2) is gone or changed in the Debian" \
                 "archive; pin a newer >= 0.8.2 release in the Dockerfile, never trixie's 0.8.0" >&2; \
            exit 1; }; \
    }; \
    fetch "pgvector_${PGVECTOR_DEB_VERSION}.dsc" "${PGVECTOR_DSC_SHA256}"; \
    fetch "pgvector_${PGVECTOR_UPSTREAM}.orig.tar.gz" "${PGVECTOR_ORIG_SHA256}"; \
    fetch "pgvector_${PGVECTOR_DEB_VERSION}.debian.tar.xz" "${PGVECTOR_DEBIAN_SHA256}"; \
    dpkg-source --no-check -x "pgvector_${PGVECTOR_DEB_VERSION}.dsc" src; \
    cd src; \
    # Debian's no-native patch keeps the binary portable; -march=native crashes on other CPUs.
    if grep -qE '^OPTFLAGS[[:space:]]*=[[:space:]]*-march=native' Makefile; then \
        echo "FATAL: pgvector would build with -march=native" >&2; exit 1; \
    fi; \
    # Only our major; nocheck because the package's tests want every PostgreSQL version.
    echo "${PG_MAJOR}" > debian/pgversions; \
    pg_buildext updatecontrol; \
    DEB_BUILD_OPTIONS=nocheck DEB_BUILD_PROFILES=nocheck dpkg-buildpackage -b -us -uc -d; \
    cp ../postgresql-${PG_MAJOR}-pgvector_${PGVECTOR_DEB_VERSION}_*.deb /out/

# ---------------------------------------------------------------------------------------------
FROM debian-base AS pgbouncer
ARG PG_MAJOR
ARG PG_VERSION
ARG PGBOUNCER_VERSION=1.24.1-1+deb13u2
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends \
        "pgbouncer=${PGBOUNCER_VERSION}" "postgresql-client-${PG_MAJOR}=${PG_VERSION}"; \
    rm -rf /var/lib/apt/lists/*; \
    mkdir -p /etc/pgbouncer /var/run/pgbouncer; \
    chown postgres:postgres /var/run/pgbouncer
COPY pgbouncer/pgbouncer.ini pgbouncer/pg_hba.conf /etc/pgbouncer/
COPY pgbouncer/entrypoint.sh /usr/local/bin/pgbouncer-entrypoint.sh
COPY pgbouncer/healthcheck.sh /usr/local/bin/pgbouncer-healthcheck.sh
# Here and in the postgres stage, not in debian-base: a change would rebuild pgvector.
COPY docker/tls.sh /usr/local/lib/ci-db/tls.sh
USER 999:999
EXPOSE 6432
# The entrypoint stays PID 1: on SIGINT it asks PgBouncer to stop (SIGINT waits for server
# connections since 1.23), then after PGBOUNCER_SHUTDOWN_GRACE sends SIGQUIT, inside Docker's 10 s.
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/pgbouncer-healthcheck.sh"]
ENTRYPOINT ["/usr/local/bin/pgbouncer-entrypoint.sh"]
CMD ["pgbouncer", "/etc/pgbouncer/pgbouncer.ini"]

# ---------------------------------------------------------------------------------------------
# Metrics sidecars (compose profile metrics), Debian's packages at exact versions. Each runs as
# uid 999 and logs in as ci_monitor (pg_monitor; PgBouncer stats_users), never as an admin.
FROM debian-base AS postgres-exporter
ARG POSTGRES_EXPORTER_VERSION=0.17.1-1+b4
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends "prometheus-postgres-exporter=${POSTGRES_EXPORTER_VERSION}"; \
    rm -rf /var/lib/apt/lists/*; \
    mkdir -p /var/run/ci-db-exporter; chown postgres:postgres /var/run/ci-db-exporter
COPY monitoring/postgres-exporter/queries.yaml /etc/ci-db-exporter/queries.yaml
COPY monitoring/postgres-exporter/entrypoint.sh /usr/local/bin/ci-db-postgres-exporter
COPY monitoring/http-healthcheck /usr/local/bin/
USER 999:999
EXPOSE 9187
# / is the landing page: no database connection per check.
HEALTHCHECK --interval=5s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/http-healthcheck", "9187", "/"]
ENTRYPOINT ["/usr/local/bin/ci-db-postgres-exporter"]
# The built-in stat_statements collector is off: the custom top-20 query bounds its series.
CMD ["prometheus-postgres-exporter", "--web.listen-address=:9187", \
     "--extend.query-path=/etc/ci-db-exporter/queries.yaml", "--no-collector.stat_bgwriter"]

FROM debian-base AS pgbouncer-exporter
ARG PGBOUNCER_EXPORTER_VERSION=1:0.10.2-2
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends "prometheus-pgbouncer-exporter=${PGBOUNCER_EXPORTER_VERSION}"; \
    rm -rf /var/lib/apt/lists/*; \
    mkdir -p /var/run/ci-db-exporter; chown postgres:postgres /var/run/ci-db-exporter
COPY monitoring/pgbouncer-exporter/entrypoint.sh /usr/local/bin/ci-db-pgbouncer-exporter
COPY monitoring/http-healthcheck /usr/local/bin/
USER 999:999
EXPOSE 9127
HEALTHCHECK --interval=5s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/http-healthcheck", "9127", "/"]
ENTRYPOINT ["/usr/local/bin/ci-db-pgbouncer-exporter"]
# No pid file: PgBouncer runs in its own container.
CMD ["prometheus-pgbouncer-exporter", "--web.listen-address=:9127", "--pgBouncer.pid-file="]

FROM debian-base AS prometheus
ARG PROMETHEUS_VERSION=2.53.3+ds1-2
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends "prometheus=${PROMETHEUS_VERSION}" "promtool=${PROMETHEUS_VERSION}"; \
    rm -rf /var/lib/apt/lists/*; \
    mkdir -p /var/run/prometheus /var/lib/prometheus/data; \
    chown postgres:postgres /var/run/prometheus /var/lib/prometheus/data
COPY monitoring/prometheus/prometheus.yml /etc/prometheus/prometheus.yml.in
COPY monitoring/prometheus/rules/ /etc/prometheus/rules/
COPY monitoring/prometheus/entrypoint.sh /usr/local/bin/ci-db-prometheus
COPY monitoring/http-healthcheck /usr/local/bin/
USER 999:999
EXPOSE 9090
VOLUME /var/lib/prometheus/data
HEALTHCHECK --interval=5s --timeout=5s --start-period=60s --retries=3 \
    CMD ["/usr/local/bin/http-healthcheck", "9090", "/-/ready"]
ENTRYPOINT ["/usr/local/bin/ci-db-prometheus"]
CMD ["prometheus", "--storage.tsdb.path=/var/lib/prometheus/data", \
     "--storage.tsdb.retention.time=15d", "--web.listen-address=:9090"]

# ---------------------------------------------------------------------------------------------
FROM debian-base AS server
ARG PG_MAJOR
ARG PG_VERSION
ARG PGVECTOR_DEB_VERSION
ARG SQITCH_VERSION=1.5.2-1
# Audit logging of DDL and role statements with passwords redacted (postgresql.conf).
ARG PGAUDIT_VERSION=17.1-1
ARG DBD_PG_VERSION=3.18.0-1+b3
# setpriv, for dropping root when a user starts the image with --user root.
ARG UTIL_LINUX_VERSION=2.41.5-0+deb13u1
# Backups and WAL archiving (docs/backup.md); idle unless a PGBACKREST_REPO* variable is set.
ARG PGBACKREST_VERSION=2.55.1-1
# tini: PID 1 once the entrypoint execs the server, so that it, not the postmaster, reaps the
# orphans of archive_command (pgBackRest's async archive-push daemon): the postmaster takes a
# child it does not know exiting non-zero for a crashed backend and restarts the whole server
# (pgbackrest/pgbackrest#2016).
ARG TINI_VERSION=0.19.0-3+b8
# Time-partitioned log tables (docs/partitions.md): pg_partman makes and drops the partitions,
# pg_cron runs its maintenance in the server (background workers, no password, no TCP).
ARG PARTMAN_VERSION=5.2.4-1
ARG PG_CRON_VERSION=1.6.5-1
RUN set -eux; \
    # The package must not create a cluster of its own: the entrypoint owns initdb.
    mkdir -p /etc/postgresql-common/createcluster.d; \
    echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/ci-db.conf
RUN --mount=type=bind,from=pgvector-build,source=/out,target=/tmp/pgvector \
    set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends \
        "postgresql-${PG_MAJOR}=${PG_VERSION}" \
        "postgresql-client-${PG_MAJOR}=${PG_VERSION}" \
        "/tmp/pgvector/postgresql-${PG_MAJOR}-pgvector_${PGVECTOR_DEB_VERSION}_$(dpkg --print-architecture).deb" \
        "postgresql-${PG_MAJOR}-pgaudit=${PGAUDIT_VERSION}" \
        "sqitch=${SQITCH_VERSION}" "libdbd-pg-perl=${DBD_PG_VERSION}" \
        "util-linux=${UTIL_LINUX_VERSION}" "pgbackrest=${PGBACKREST_VERSION}" \
        "tini=${TINI_VERSION}" \
        "postgresql-${PG_MAJOR}-partman=${PARTMAN_VERSION}" "postgresql-${PG_MAJOR}-cron=${PG_CRON_VERSION}"; \
    rm -rf /var/lib/apt/lists/*; \
    # Refuse a silent downgrade: the CVE fix is the reason this image builds pgvector itself.
    dpkg --compare-versions "$(dpkg-query -W -f '${Version}' postgresql-${PG_MAJOR}-pgvector)" ge 0.8.2; \
    mkdir -p /var/run/postgresql /etc/postgresql/conf.d /docker-entrypoint-initdb.d; \
    chown -R postgres:postgres /var/run/postgresql /etc/postgresql/conf.d; \
    chmod 3777 /var/run/postgresql; \
    # The config is written at start from PGBACKREST_* (secrets included): postgres-only dirs,
    # and no packaged sample config to be read by mistake.
    rm -f /etc/pgbackrest.conf; \
    mkdir -p /etc/pgbackrest /var/lib/pgbackrest /var/spool/pgbackrest /var/log/pgbackrest; \
    chown postgres:postgres /etc/pgbackrest /var/lib/pgbackrest /var/spool/pgbackrest /var/log/pgbackrest; \
    chmod 0700 /etc/pgbackrest /var/lib/pgbackrest /var/spool/pgbackrest

ENV PG_MAJOR=${PG_MAJOR} \
    PATH=/usr/lib/postgresql/${PG_MAJOR}/bin:$PATH \
    PGDATA=/var/lib/postgresql/data \
    POSTGRES_DB=contextinject \
    CI_DB_SHARE=/usr/share/ci-db
# restore: where `cidb restore` mounts the volume it restores into (src/cidb/backup.py); a new
# volume takes this directory's owner.
RUN mkdir -p "$PGDATA" /var/lib/postgresql/restore && \
    chown postgres:postgres "$PGDATA" /var/lib/postgresql/restore && \
    chmod 0700 "$PGDATA" /var/lib/postgresql/restore

COPY postgresql.conf /etc/postgresql/postgresql.conf
COPY initdb/ /usr/share/ci-db/initdb/
# The role manifest: the entrypoint and initdb/10-create-roles.sql read it (so does cidb.settings).
COPY src/cidb/roles.json /usr/share/ci-db/roles.json
COPY sqitch/ /usr/share/ci-db/sqitch/
# The development seed: run only when CI_DB_DEV_SEED=1 (compose.yaml), never by default.
COPY seed/ /usr/share/ci-db/seed/
COPY docker/docker-entrypoint.sh docker/ci-db-healthcheck docker/ci-db-migrate docker/ci-db-backup /usr/local/bin/
COPY docker/scram-changed-passwords docker/tls.sh docker/backup.sh docker/ci-db-sqitch-registry /usr/local/lib/ci-db/

# Numeric, so Kubernetes' runAsNonRoot can verify it (uid 999 = postgres, as in the official image).
USER 999:999
EXPOSE 5432
# SIGINT is PostgreSQL's "fast" shutdown: clients are cut, the checkpoint is clean.
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s --timeout=5s --start-period=120s --retries=3 \
    CMD ["/usr/local/bin/ci-db-healthcheck"]
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD ["postgres"]

# ---------------------------------------------------------------------------------------------
# ci-db:17-ci (docs/ci.md): the cluster initialised and migrated at build, a template database
# to clone per test, durability off. PGDATA is outside the postgres target's VOLUME path: a
# RUN's writes under a declared volume are discarded.
FROM server AS ci
ENV PGDATA=/var/lib/postgresql/ci-data
COPY docker/ci/00-ci-durability.conf /etc/postgresql/conf.d/
COPY docker/ci/70-create-test-role.sql /usr/share/ci-db/initdb/
COPY docker/ci/ci-mode /usr/share/ci-db/ci-mode
# Nothing secret is baked in: the build's superuser password is random, used by nobody and
# removed at the end of the prepare run; no role has a password until a start sets it from env.
# /var/lib/postgresql/clones holds the clones' tablespace: mount a tmpfs there (docs/ci.md).
RUN set -eu; \
    CI_DB_PREPARE_ONLY=1 POSTGRES_PASSWORD="$(od -An -N24 -tx1 /dev/urandom)" \
        /usr/local/bin/docker-entrypoint.sh postgres; \
    mkdir -m 0700 /var/lib/postgresql/clones

# ---------------------------------------------------------------------------------------------
# High availability (README "High availability", compose.ha.yaml). ha -> ci-db:17-ha: the server
# stage plus Patroni, which bootstraps and supervises PostgreSQL when CI_DB_HA=patroni. A target of
# its own, not in ci-db:17: Patroni brings Python 3 and some 60 MB of modules that a single server,
# the CI image and the size report do not need. Without CI_DB_HA it is ci-db:17.
FROM server AS ha
ARG PATRONI_VERSION=4.0.7-3~deb13u1
ARG PYTHON3_ETCD_VERSION=0.4.5-6
USER 0:0
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends \
        "patroni=${PATRONI_VERSION}" "python3-etcd=${PYTHON3_ETCD_VERSION}"; \
    rm -rf /var/lib/apt/lists/*; \
    # Patroni's runtime config (secrets included) is written at start into a postgres-only dir.
    mkdir -m 0700 /var/lib/postgresql/ha; chown postgres:postgres /var/lib/postgresql/ha
COPY docker/ha.sh docker/ci-db-ha-post-bootstrap docker/ci-db-ha-on-role /usr/local/lib/ci-db/
COPY docker/ci-db-ha-healthcheck /usr/local/bin/
ENV CI_DB_HA=patroni
USER 999:999
# Patroni's REST API (health for HAProxy, switchover/failover with authentication).
EXPOSE 5432 8008
# Patroni stops PostgreSQL (fast) and releases the leader key on SIGTERM.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=5s --timeout=5s --start-period=180s --retries=3 \
    CMD ["/usr/local/bin/ci-db-ha-healthcheck"]
VOLUME /var/lib/postgresql/data

# etcd, Patroni's consensus store (compose.ha.yaml runs three members).
FROM debian-base AS etcd
ARG ETCD_VERSION=3.5.16-4
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends "etcd-server=${ETCD_VERSION}" "etcd-client=${ETCD_VERSION}"; \
    rm -rf /var/lib/apt/lists/*; \
    mkdir -p /var/lib/etcd; chmod 0700 /var/lib/etcd; chown postgres:postgres /var/lib/etcd
USER 999:999
EXPOSE 2379 2380
HEALTHCHECK --interval=5s --timeout=5s --start-period=60s --retries=3 \
    CMD ["etcdctl", "--endpoints=http://127.0.0.1:2379", "--command-timeout=4s", "endpoint", "health"]
VOLUME /var/lib/etcd
ENTRYPOINT ["etcd"]

# HAProxy routes by Patroni's health endpoints: the write port to /primary, the read port to /replica.
FROM debian-base AS haproxy
ARG HAPROXY_VERSION=3.0.11-1+deb13u4
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends "haproxy=${HAPROXY_VERSION}"; \
    rm -rf /var/lib/apt/lists/*
COPY haproxy/haproxy.cfg /etc/haproxy/haproxy.cfg
USER 999:999
EXPOSE 5000 5001 7000
HEALTHCHECK --interval=5s --timeout=5s --start-period=30s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/7000"]
ENTRYPOINT ["haproxy", "-W", "-db", "-f", "/etc/haproxy/haproxy.cfg"]

# ---------------------------------------------------------------------------------------------
# ci-db:17, the default target.
FROM server AS postgres
VOLUME /var/lib/postgresql/data
