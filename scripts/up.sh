#!/usr/bin/env bash
# Bring the stack up from a fresh clone: engine and base image if missing, then
# `docker compose up -d --wait` (builds the images the first time).
set -Eeuo pipefail

readonly ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

main() {
	bash "$ROOT/scripts/ensure-engine.sh"
	bash "$ROOT/scripts/ensure-base-image.sh"
	docker compose --project-directory "$ROOT" -f "$ROOT/compose.yaml" up -d --wait "$@"
}

main "$@"
