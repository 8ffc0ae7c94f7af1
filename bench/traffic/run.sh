#!/usr/bin/env bash
# Traffic providers: time from applying a changed gray routing (Istio
# DestinationRule + VirtualService, Gateway API HTTPRoute) to a watch seeing
# the updated object, over CHANGES changes per provider (default 200), on a
# local control plane with the upstream CRDs installed.
set -euo pipefail
cd "$(dirname "$0")/../.."
go run ./bench/traffic -changes "${CHANGES:-200}"
