#!/usr/bin/env bash
# Benchmark suite (BENCHMARKS.md): cold start against a Python/boto3 peer, critical-path depth through the latency
# proxy, peak memory of one real invocation, package size, and a storm of 1,000 alarm deliveries over 200 instances
# in 3 AZs (50 failing status checks in one AZ, CPU alarms, duplicates) through the publish gate and digests.
# The cold-start, memory and package rows measure the packaged function, .aws-sam/build/ResponderFunction/bootstrap,
# as `sam build` produced it and scripts/package.sh smoke-tested it (run here first): the binary that is deployed.
# Builds the release bench binary, starts the local emulator, prints the machine and a Markdown table.
#
#   scripts/bench.sh                       # everything
#   scripts/bench.sh --only cold,package   # some figures; any other argument goes to the bench binary (--help)
#   BENCH_ALT="CARGO_PROFILE_RELEASE_LTO=fat CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1" scripts/bench.sh
#                                          # also build the responder with these profile overrides into
#                                          # target/bench-alt and compare its size and cold start in the same run
set -euo pipefail
cd "$(dirname "$0")/.."

echo "bench: packaging the responder (scripts/package.sh: sam build and its smoke test)" >&2
scripts/package.sh
bootstrap=.aws-sam/build/ResponderFunction/bootstrap
echo "bench: building the release bench binary" >&2
cargo build --release --locked -p ec2ops-tests --bin bench

alt_args=()
if [ -n "${BENCH_ALT:-}" ]; then
  echo "bench: building the alternative profile: $BENCH_ALT" >&2
  # A separate target dir: the overrides change every crate's build, and must not evict target/release.
  # shellcheck disable=SC2086 # BENCH_ALT is a list of VAR=value words
  env $BENCH_ALT cargo build --release --locked -p ec2ops-responder --bin responder --target-dir target/bench-alt
  alt_args=(--alt target/bench-alt/release/responder --alt-label "$BENCH_ALT")
fi

scripts/emulator.sh start

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
echo
echo "Machine: $(nproc) cores, $(uname -srm), CPU: ${cpu:-unknown}, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "Responder: $bootstrap (sam build; sha256 $(sha256sum "$bootstrap" | cut -c1-16)…)"
echo "Release profile: $(awk '/^\[profile.release\]/{f=1;next} /^\[/{f=0} f&&NF&&!/^#/' Cargo.toml | paste -sd';' - | sed 's/;/, /g')"
echo
target/release/bench --responder "$bootstrap" ${alt_args[@]+"${alt_args[@]}"} "$@"
