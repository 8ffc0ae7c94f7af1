#!/usr/bin/env bash
# Release orders: an order of APPS services versus kubectl apply + one
# kubectl rollout status of every Deployment, and the time from a crash loop
# to the committed rollback of every service. Reproduces the figures of
# docs/benchmarks.md "Release orders" (defaults: 50 services × 2 replicas,
# 5 crash-loop samples). Needs the components (build/components/build.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
go run ./bench/release -apps "${APPS:-50}" -replicas "${REPLICAS:-2}" -samples "${SAMPLES:-5}"
