#!/usr/bin/env bash
# The main job, on the local emulator: start LocalStack, seed the seed incident (a t3.small whose CPU jumps from
# 0.24% to 39.58% right after a 3.32 MB inbound burst), run the responder on events/cpu-spike.json exactly as the
# Lambda function does (the `ec2ops` CLI, --publish), and print the report as it arrived on SNS (through an SQS
# subscription). Set EC2OPS_LANGUAGE=en for English.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/emulator.sh start
eval "$(scripts/emulator.sh env)"

echo "demo: building (the first build compiles the AWS SDK: about 10-15 minutes on 2 cores)" >&2
cargo build --quiet --bin ec2ops -p ec2ops-cli
cargo build --quiet --bin demo -p ec2ops-tests

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
target/debug/demo seed "$work"
set -a; . "$work/env"; set +a

echo "demo: ec2ops respond $work/event.json --publish" >&2
target/debug/ec2ops respond "$work/event.json" --publish >/dev/null
echo "demo: report received on the SNS topic's SQS subscription:" >&2
echo >&2
target/debug/demo receive "$DEMO_QUEUE_URL"
