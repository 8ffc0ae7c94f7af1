#!/usr/bin/env bash
# Config center push latency: 500 Nacos gRPC clients, 1000 changes spread
# over 50 items, then every client on one item (full fan-out).
set -euo pipefail
cd "$(dirname "$0")/../.."
go build -o bin/bench-configpush ./bench/configpush
bin/bench-configpush -clients 500 -items 50 -changes 1000
bin/bench-configpush -clients 500 -items 1 -changes 100 | tail -1
