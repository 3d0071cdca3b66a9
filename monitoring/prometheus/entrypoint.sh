#!/usr/bin/env bash
# ci-db-prometheus: writes prometheus.yml from the template and the environment, then runs
# Prometheus. PROMETHEUS_SCRAPE_INTERVAL / PROMETHEUS_EVALUATION_INTERVAL (default 15s) are
# what the tests shorten to see alerts fire in seconds.
set -Eeuo pipefail

readonly TEMPLATE=/etc/prometheus/prometheus.yml.in
readonly RUN_DIR=/var/run/prometheus

# shellcheck source=docker/file-env.sh
. /usr/local/lib/ci-db/file-env.sh

check_duration() {
	[[ $2 =~ ^[0-9]+(ms|s|m|h)$ ]] || die "$1='$2' is not a Prometheus duration like 15s or 1m"
}

check_target() {
	[[ $2 =~ ^[A-Za-z0-9._-]+:[0-9]+$ ]] || die "$1='$2' is not host:port"
}

prometheus_setup_env() {
	: "${PROMETHEUS_SCRAPE_INTERVAL:=15s}" "${PROMETHEUS_EVALUATION_INTERVAL:=$PROMETHEUS_SCRAPE_INTERVAL}"
	# A scrape may not outlast its interval.
	: "${PROMETHEUS_SCRAPE_TIMEOUT:=$PROMETHEUS_SCRAPE_INTERVAL}"
	: "${POSTGRES_EXPORTER_TARGET:=postgres-exporter:9187}" "${PGBOUNCER_EXPORTER_TARGET:=pgbouncer-exporter:9127}"
	check_duration PROMETHEUS_SCRAPE_INTERVAL "$PROMETHEUS_SCRAPE_INTERVAL"
	check_duration PROMETHEUS_EVALUATION_INTERVAL "$PROMETHEUS_EVALUATION_INTERVAL"
	check_duration PROMETHEUS_SCRAPE_TIMEOUT "$PROMETHEUS_SCRAPE_TIMEOUT"
	check_target POSTGRES_EXPORTER_TARGET "$POSTGRES_EXPORTER_TARGET"
	check_target PGBOUNCER_EXPORTER_TARGET "$PGBOUNCER_EXPORTER_TARGET"
}

prometheus_write_config() {
	mkdir -p "$RUN_DIR"
	sed -e "s/@SCRAPE_INTERVAL@/$PROMETHEUS_SCRAPE_INTERVAL/" \
		-e "s/@EVALUATION_INTERVAL@/$PROMETHEUS_EVALUATION_INTERVAL/" \
		-e "s/@SCRAPE_TIMEOUT@/$PROMETHEUS_SCRAPE_TIMEOUT/" \
		-e "s/@POSTGRES_EXPORTER@/$POSTGRES_EXPORTER_TARGET/" \
		-e "s/@PGBOUNCER_EXPORTER@/$PGBOUNCER_EXPORTER_TARGET/" \
		"$TEMPLATE" >"$RUN_DIR/prometheus.yml"
}

_main() {
	if [[ ${1:-} != prometheus ]]; then
		exec "$@"
	fi
	prometheus_setup_env
	prometheus_write_config
	exec "$@" --config.file="$RUN_DIR/prometheus.yml"
}

_main "$@"
