#!/usr/bin/env bash
# Make sure the Dockerfile's base image exists locally.
# A connected host pulls it; a host that reaches a Debian mirror but no registry builds the
# same minimal trixie root from the archive with mmdebstrap and imports it under that name,
# so the Dockerfile stays the one a connected user builds.
set -Eeuo pipefail

readonly BASE_IMAGE="${BASE_IMAGE:-debian:trixie-slim}"
readonly DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
readonly PULL_DEADLINE_S=60

die() { echo "ensure-base-image: $*" >&2; exit 1; }
say() { echo "ensure-base-image: $*" >&2; }

image_present() { docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; }

try_pull() { timeout "$PULL_DEADLINE_S" docker pull -q "$BASE_IMAGE" >/dev/null 2>&1; }

suite_of() {
	local tag=${BASE_IMAGE#*:}
	echo "${tag%%-*}"
}

install_mmdebstrap() {
	command -v mmdebstrap >/dev/null && return 0
	[[ $(id -u) -eq 0 ]] || die "mmdebstrap is missing and we are not root to install it"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
}

# Trim what debian:*-slim trims (docs, man pages, locales) so the import matches it in size.
build_from_archive() {
	local suite
	suite=$(suite_of)
	say "no registry: building $BASE_IMAGE from the Debian archive ($suite, minbase)"
	install_mmdebstrap
	mmdebstrap --quiet --variant=minbase --format=tar \
		--dpkgopt='path-exclude=/usr/share/man/*' \
		--dpkgopt='path-exclude=/usr/share/doc/*' \
		--dpkgopt='path-include=/usr/share/doc/*/copyright' \
		--dpkgopt='path-exclude=/usr/share/locale/*' \
		--dpkgopt='path-exclude=/usr/share/info/*' \
		"$suite" - "$DEBIAN_MIRROR" |
		docker import --change 'CMD ["bash"]' - "$BASE_IMAGE" >/dev/null ||
		die "mmdebstrap/docker import of $suite failed"
}

main() {
	docker info >/dev/null 2>&1 || die "no Docker engine answers: run scripts/ensure-engine.sh first"
	image_present && return 0
	try_pull && return 0
	build_from_archive
	image_present || die "$BASE_IMAGE is still missing after the import"
	say "imported $BASE_IMAGE"
}

main "$@"
