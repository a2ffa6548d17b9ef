#!/usr/bin/env bash
# make valgrind: runs a subset of the integration tests with nsl-enclave and nsl-parent under
# valgrind (memcheck, --leak-check=full, definite leaks and every memory error fail). The tests
# find the daemons through NSL_BIN_DIR, so a directory of wrappers stands in for build/bin.
#
# The subset: integration tests that need no function sandbox and no slow key derivation (NEP-2's
# scrypt in the wallet tests takes minutes under memcheck). test_parent_gateway and test_parent_kv
# start the parent themselves with fixed 10-15 s deadlines, which valgrind on a heavily loaded
# machine may miss (their daemons still report no memory error).
# Function workers run under a seccomp filter that kills valgrind's own syscalls, so the enclave
# runs with --function-workers 0 here (the sandbox has its own unit tests and ASan coverage).
# Too slow for `make test` (several minutes); run it on its own.
set -uo pipefail
build=${1:-build}
bin="$PWD/$build/bin"
wrap="$PWD/$build/valgrind-bin"
logs="$PWD/$build/valgrind-logs"
rm -rf "$wrap" "$logs" && mkdir -p "$wrap" "$logs"
opts="--error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
--show-leak-kinds=definite --track-origins=no --child-silent-after-fork=yes"
cat > "$wrap/nsl-enclave" <<SH
#!/bin/sh
exec valgrind $opts --log-file=$logs/enclave.%p.log "$bin/nsl-enclave" --function-workers 0 "\$@"
SH
cat > "$wrap/nsl-parent" <<SH
#!/bin/sh
exec valgrind $opts --log-file=$logs/parent.%p.log "$bin/nsl-parent" "\$@"
SH
ln -s "$bin/nsl" "$wrap/nsl"
chmod +x "$wrap/nsl-enclave" "$wrap/nsl-parent"

tests=${NSL_VALGRIND_TESTS:-"test_enclave_server test_store test_accounts test_secrets test_gasbank \
test_attestation test_egress test_parent_gateway test_parent_kv test_trace"}
export NSL_TEST_TIMEOUT_SCALE=${NSL_TEST_TIMEOUT_SCALE:-10}
status=0
for t in $tests; do
  start=$(date +%s)
  if NSL_BIN_DIR="$wrap" NSL_SOURCE_DIR="$PWD" "$build/tests/$t" > "$logs/$t.out" 2>&1; then
    echo "valgrind $t: ok ($(( $(date +%s) - start )) s)"
  else
    echo "valgrind $t: FAILED ($(( $(date +%s) - start )) s; $logs/$t.out)"
    tail -n 20 "$logs/$t.out"
    status=1
  fi
done
# Errors of a daemon that a test killed on purpose never reach an exit code: read every log.
if grep -l "ERROR SUMMARY: [1-9]" "$logs"/*.log 2>/dev/null; then
  echo "valgrind: memory errors reported in the logs above"
  status=1
fi
[ $status -eq 0 ] && echo "valgrind: clean" || echo "valgrind: NOT clean"
exit $status
