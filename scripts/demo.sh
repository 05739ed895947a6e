#!/usr/bin/env bash
# The main job, on the local emulator: start LocalStack and play the lab's two scenarios through the responder exactly
# as the Lambda function runs (the `ec2ops` CLI, --publish), printing each report as it arrived on SNS (through an SQS
# subscription). Set EC2OPS_LANGUAGE=en for English.
#   1. The lab's unified alarm, EC2-Fleet-HighCPU-Threshold-Count (events/fleet-insights-alarm.json, now): a fleet of
#      five instances, VPC02-Private-B (t3.small) spiking 0.28% → 0.26% → 0.24% → 1.75% → 39.58% after a 3.32 MB
#      inbound burst, two more above 20 %, two cooler. The report ranks the fleet (LocalStack serves no Metrics
#      Insights, so through the ListMetrics fallback, and says so) and analyses the hottest instance.
#   2. The per-instance alarm on VPC02-Private-B (events/cpu-spike.json).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/emulator.sh start
eval "$(scripts/emulator.sh env)"

echo "demo: building (the first build compiles the AWS SDK: about 10-15 minutes on 2 cores)" >&2
cargo build --quiet --bin ec2ops -p ec2ops-cli
cargo build --quiet --bin demo -p ec2ops-tests

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

scenario() { # <seed command> <title>
  mkdir -p "$work/$1"
  target/debug/demo "$1" "$work/$1"
  (
    set -a; . "$work/$1/env"; set +a
    echo "demo: $2: ec2ops respond $work/$1/event.json --publish" >&2
    target/debug/ec2ops respond "$work/$1/event.json" --publish >/dev/null
    echo "demo: report received on the SNS topic's SQS subscription:" >&2
    echo >&2
    target/debug/demo receive "$DEMO_QUEUE_URL"
  )
}

scenario seed-fleet "scenario 1, the lab's unified fleet alarm EC2-Fleet-HighCPU-Threshold-Count"
echo
scenario seed "scenario 2, the per-instance alarm EC2-HighCPU-VPC02-Private-B"
