#!/usr/bin/env bash
# Release orders: a 50-service order versus kubectl apply + rollout status,
# and the time from a crash loop to the rollback of every service.
set -euo pipefail
cd "$(dirname "$0")/../.."
go run ./bench/release -apps "${APPS:-50}" -samples "${SAMPLES:-5}"
