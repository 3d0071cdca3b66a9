#!/usr/bin/env bash
# Make sure a Docker engine and the Compose v2 plugin answer.
# Does nothing when they already do; on a root Debian host with no engine, installs
# docker.io, takes compose/buildx from Debian trixie (bookworm's docker-compose is v1),
# and starts dockerd detached so it never holds the caller's stdout open.
set -Eeuo pipefail

readonly DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
readonly PLUGIN_DIR=/usr/local/lib/docker/cli-plugins
readonly DOCKERD_LOG="${DOCKERD_LOG:-/var/log/ci-db-dockerd.log}"
readonly ENGINE_DEADLINE_S=60

die() { echo "ensure-engine: $*" >&2; exit 1; }
say() { echo "ensure-engine: $*" >&2; }

engine_answers() { docker info >/dev/null 2>&1; }
compose_answers() { docker compose version >/dev/null 2>&1; }
buildx_answers() { docker buildx version >/dev/null 2>&1; }

require_root_debian() {
	[[ $(id -u) -eq 0 ]] || die "no Docker engine answers and we are not root: start Docker yourself"
	[[ -r /etc/debian_version ]] || die "no Docker engine answers and this is not Debian: start Docker yourself"
}

install_engine() {
	command -v dockerd >/dev/null && return 0
	say "installing docker.io from the host's Debian archive"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		docker.io containerd runc iptables ca-certificates >/dev/null
}

# Compose v2 and buildx are Go binaries; trixie's builds run on bookworm, so fetch the
# .debs through a private apt state and unpack only the plugin binaries.
install_trixie_plugins() (
	local work
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	mkdir -p "$work/lists/partial" "$work/archives/partial" "$work/unpack"
	echo "deb $DEBIAN_MIRROR trixie main" >"$work/sources.list"
	local -a opts=(
		-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
		-o "Dir::State::Lists=$work/lists" -o "Dir::Cache::Archives=$work/archives"
		-o APT::Get::List-Cleanup=0 -o APT::Sandbox::User=root
	)
	say "fetching docker-compose and docker-buildx from Debian trixie"
	apt-get "${opts[@]}" update -qq || die "cannot read Debian trixie from $DEBIAN_MIRROR"
	(cd "$work" && apt-get "${opts[@]}" download -qq docker-compose docker-buildx) ||
		die "cannot download docker-compose/docker-buildx from trixie"
	local deb
	for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$work/unpack"; done
	mkdir -p "$PLUGIN_DIR"
	local plugin
	for plugin in docker-compose docker-buildx; do
		install -m 0755 "$(find "$work/unpack" -type f -path "*/cli-plugins/$plugin" | head -n1)" "$PLUGIN_DIR/$plugin"
	done
)

start_engine() {
	say "starting dockerd (log: $DOCKERD_LOG)"
	setsid dockerd >"$DOCKERD_LOG" 2>&1 </dev/null &
	local deadline=$((SECONDS + ENGINE_DEADLINE_S))
	until engine_answers; do
		((SECONDS < deadline)) || { tail -n 20 "$DOCKERD_LOG" >&2; die "dockerd did not answer within ${ENGINE_DEADLINE_S}s"; }
		sleep 1
	done
}

main() {
	if ! engine_answers; then
		require_root_debian
		install_engine
		start_engine
	fi
	if ! compose_answers || ! buildx_answers; then
		require_root_debian
		install_trixie_plugins
		compose_answers || die "docker compose still does not answer after installing the plugin"
	fi
}

main "$@"
