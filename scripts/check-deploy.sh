#!/usr/bin/env bash
# Checks the Nitro packaging (deploy/nitro) for consistency with itself and with the built
# binaries, since docker and nitro-cli cannot run here: the config samples load in the real
# binaries, vsock ports and CIDs agree between enclave, parent, unit files, enclave.env and the
# guide; the allocator pool holds the enclave; the key policy pins PCR0-2 and nothing else grants
# decryption; the Dockerfile builds and copies the binary the build produces, with the libraries
# of scripts/install-deps.sh; the runtime tree it makes runs the binary with nothing else.
#   scripts/check-deploy.sh BIN_DIR [DEPLOY_DIR]     (ctest deploy/nitro; exit 1 on a mismatch)
set -uo pipefail

bin=${1:?usage: check-deploy.sh BIN_DIR [DEPLOY_DIR]}
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${2:-$root/deploy/nitro}
failures=0

fail() {
    echo "check-deploy: $*" >&2
    failures=$((failures + 1))
}

# cid[NAME] and port[NAME] of a vsock URL ("not-vsock" when it is not one); no subshells, as the
# drift test runs this script many times.
declare -A cid port
split_vsock() {
    if [[ $2 =~ ^vsock://([^:]+):([0-9]+)$ ]]; then
        cid[$1]=${BASH_REMATCH[1]} port[$1]=${BASH_REMATCH[2]}
    else
        cid[$1]=not-vsock port[$1]=not-vsock
    fi
}

for f in Dockerfile collect-rootfs.sh enclave.sh enclave.env enclave.json parent.json \
    allocator.yaml kms-key-policy.json README.md systemd/nsl-enclave.service \
    systemd/nsl-parent.service; do
    [ -f "$dir/$f" ] || fail "missing $dir/$f"
done
[ "$failures" = 0 ] || exit 1

# 1. The config samples load in the real binaries (every setting exists and is in range): the
#    config file is read before --help, so a bad one exits 2.
"$bin/nsl-enclave" --config "$dir/enclave.json" --help >/dev/null ||
    fail "enclave.json is refused by nsl-enclave (see above)"
"$bin/nsl-parent" --config "$dir/parent.json" --help >/dev/null ||
    fail "parent.json is refused by nsl-parent (see above)"

# 2. Addresses: enclave listens vsock://ANY:P, the parent dials vsock://CID:P; the enclave dials
#    the parent (CID 3) on the host-channel and egress ports the parent listens on.
# One jq run per file (values of a file that is not JSON stay empty and fail below).
read -r e_listen e_host e_egress e_mode e_sealed e_fw e_frame e_hframe e_kp < <(jq -r '[.listen,
    ."host-channel", .egress, .mode, ."require-sealed", ."function-workers", ."max-frame",
    ."host-max-frame", ."key-provider"] | map(tostring) | join(" ")' "$dir/enclave.json" 2>/dev/null)
read -r p_enclave p_host p_egress p_state p_frame p_hframe p_kp < <(jq -r '[.enclave,
    ."host-listen", ."egress-listen", .state, ."max-frame", ."host-max-frame", ."key-provider"]
    | map(tostring) | join(" ")' "$dir/parent.json" 2>/dev/null)
split_vsock e_listen "$e_listen"
split_vsock p_enclave "$p_enclave"
[ "${cid[e_listen]}" = ANY ] || fail "enclave.json listen $e_listen is not vsock://ANY:PORT"
[ "${port[e_listen]}" = "${port[p_enclave]}" ] ||
    fail "enclave listens on $e_listen but parent.json dials $p_enclave"
for pair in "$e_host $p_host host-channel" "$e_egress $p_egress egress"; do
    set -- $pair
    split_vsock e "$1"
    split_vsock p "$2"
    [ "${cid[e]}" = 3 ] || fail "enclave.json $3 $1 does not dial the parent (CID 3)"
    [ "${cid[p]}" = ANY ] || fail "parent.json $3 listener $2 is not vsock://ANY:PORT"
    [ "${port[e]}" = "${port[p]}" ] ||
        fail "enclave.json $3 $1 and parent.json listener $2 use different ports"
done
[ "$e_frame $e_hframe $e_kp" = "$p_frame $p_hframe $p_kp" ] ||
    fail "max-frame, host-max-frame or key-provider differ between enclave.json and parent.json"
[ "$e_mode" = nitro ] || fail "enclave.json mode is not nitro"
[ "$e_sealed" != false ] || fail "enclave.json lets sensitive operations travel in the clear"

# 3. enclave.env: the CID the parent dials, and a size the allocator pool holds (whole cores).
# shellcheck source=/dev/null
. "$dir/enclave.env"
[ "${NSL_ENCLAVE_CID:-}" = "${cid[p_enclave]}" ] ||
    fail "enclave.env NSL_ENCLAVE_CID=${NSL_ENCLAVE_CID:-} but parent.json dials $p_enclave"
[ "${NSL_ENCLAVE_CID:-0}" -ge 4 ] 2>/dev/null || fail "enclave CID must be 4 or more (3 is the parent)"
pool_mib=$(sed -n 's/^memory_mib:[[:space:]]*\([0-9]*\).*/\1/p' "$dir/allocator.yaml")
pool_cpus=$(sed -n 's/^cpu_count:[[:space:]]*\([0-9]*\).*/\1/p' "$dir/allocator.yaml")
[ -n "$pool_mib" ] && [ -n "$pool_cpus" ] || fail "allocator.yaml lacks memory_mib or cpu_count"
[ "${NSL_ENCLAVE_MEMORY_MIB:-0}" -ge 64 ] && [ "${pool_mib:-0}" -ge "${NSL_ENCLAVE_MEMORY_MIB:-0}" ] ||
    fail "enclave memory ${NSL_ENCLAVE_MEMORY_MIB:-} MiB: under 64 or over the pool's ${pool_mib:-} MiB"
[ "${pool_cpus:-0}" -ge "${NSL_ENCLAVE_CPUS:-0}" ] && [ $((${NSL_ENCLAVE_CPUS:-1} % 2)) = 0 ] ||
    fail "enclave CPUs ${NSL_ENCLAVE_CPUS:-}: odd (not whole cores) or over the pool's ${pool_cpus:-}"
fw=$e_fw
[ "$fw" -le "${NSL_ENCLAVE_CPUS:-0}" ] 2>/dev/null ||
    fail "function-workers $fw exceeds the enclave's ${NSL_ENCLAVE_CPUS:-} vCPUs"

# 4. systemd units: the enclave unit runs nitro-cli with every enclave.env value; the parent unit
#    runs nsl-parent with the config the guide installs, options that exist, its state directory,
#    and both are hardened.
eu=$dir/systemd/nsl-enclave.service pu=$dir/systemd/nsl-parent.service
for v in NSL_ENCLAVE_NAME NSL_ENCLAVE_EIF NSL_ENCLAVE_CPUS NSL_ENCLAVE_MEMORY_MIB NSL_ENCLAVE_CID; do
    grep -q "^ExecStart=/usr/bin/nitro-cli run-enclave .*\${$v}" "$eu" ||
        fail "nsl-enclave.service does not pass \${$v} to nitro-cli run-enclave"
done
grep -q '^EnvironmentFile=/etc/nsl/enclave.env$' "$eu" || fail "nsl-enclave.service does not read /etc/nsl/enclave.env"
exec_parent=$(sed -n 's/^ExecStart=//p' "$pu")
[[ $exec_parent == "/usr/local/bin/nsl-parent --config /etc/nsl/parent.json" ]] ||
    fail "nsl-parent.service ExecStart is \"$exec_parent\", not nsl-parent --config /etc/nsl/parent.json"
parent_help=$("$bin/nsl-parent" --help)
for opt in $(grep -o -- '--[a-z][a-z-]*' <<<"$exec_parent"); do
    grep -q -- "^  $opt\b" <<<"$parent_help" || fail "nsl-parent.service uses $opt, which nsl-parent lacks"
done
[ "$p_state" = /var/lib/"$(sed -n 's/^StateDirectory=//p' "$pu")" ] ||
    fail "parent.json state is not the unit's StateDirectory under /var/lib"
for unit in "$eu" "$pu"; do
    text=$'\n'$(<"$unit")
    for h in NoNewPrivileges=yes ProtectSystem= ProtectHome=yes PrivateTmp=yes; do
        [[ $text == *$'\n'"$h"* ]] || fail "${unit##*/} lacks $h"
    done
done
grep -q '^ProtectSystem=strict$' "$pu" || fail "nsl-parent.service is not ProtectSystem=strict"
grep -q '^RestrictAddressFamilies=.*AF_VSOCK' "$pu" || fail "nsl-parent.service cannot open vsock"

# 5. The key policy: JSON; one Allow statement for Decrypt/GenerateDataKey pinned to PCR0, PCR1
#    and PCR2; no other Allow statement lets anyone decrypt.
policy=$dir/kms-key-policy.json
if ! jq -e . "$policy" >/dev/null 2>&1; then
    fail "kms-key-policy.json is not valid JSON"
else
    pinned=$(jq '[.Statement[] | select(.Effect == "Allow")
        | select((.Action | if type == "array" then . else [.] end) | index("kms:Decrypt"))
        | .Condition.StringEqualsIgnoreCase // {}
        | select(has("kms:RecipientAttestation:PCR0") or has("kms:RecipientAttestation:ImageSha384"))
        | select(has("kms:RecipientAttestation:PCR1") and has("kms:RecipientAttestation:PCR2"))] | length' "$policy")
    [ "$pinned" = 1 ] || fail "kms-key-policy.json: no Allow of kms:Decrypt pinned to PCR0, PCR1 and PCR2"
    loose=$(jq '[.Statement[] | select(.Effect == "Allow")
        | select(((.Condition.StringEqualsIgnoreCase // {}) | has("kms:RecipientAttestation:PCR2")) | not)
        | (.Action | if type == "array" then . else [.] end)[]
        | select(. == "*" or . == "kms:*" or test("^kms:(Decrypt|GenerateDataKey|ReEncrypt|CreateGrant|Create\\*)"))]
        | length' "$policy")
    [ "$loose" = 0 ] || fail "kms-key-policy.json: a statement without the PCR conditions allows decryption or grants"
fi

# 6. The Dockerfile builds the nsl-enclave target, hands build/bin/nsl-enclave (where CMake puts
#    it) to collect-rootfs.sh, installs the -dev packages of install-deps.sh, starts the binary
#    with the config collect-rootfs.sh installs, from a scratch runtime stage.
df=$dir/Dockerfile
grep -q -- '--target nsl-enclave' "$df" || fail "Dockerfile does not build the nsl-enclave target"
grep -q '^add_executable(nsl-enclave ' "$root/CMakeLists.txt" || fail "CMakeLists.txt has no nsl-enclave target"
grep -q 'set(CMAKE_RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)' "$root/CMakeLists.txt" ||
    fail "CMake no longer puts binaries in build/bin, which the Dockerfile copies from"
grep -q 'collect-rootfs.sh build/bin/nsl-enclave deploy/nitro/enclave.json /rootfs' "$df" ||
    fail "Dockerfile does not collect build/bin/nsl-enclave with deploy/nitro/enclave.json"
grep -q '^FROM debian:12 AS build' "$df" || fail "Dockerfile build stage is not Debian 12"
grep -q '^FROM scratch' "$df" || fail "Dockerfile runtime stage is not minimal (FROM scratch)"
grep -q '^ENTRYPOINT \["/usr/bin/nsl-enclave", "--config", "/etc/nsl/enclave.json"\]' "$df" ||
    fail "Dockerfile ENTRYPOINT does not run /usr/bin/nsl-enclave --config /etc/nsl/enclave.json"
dockerfile=" $(tr '\n' ' ' <"$df") "
for pkg in $(grep -o '\b[a-z0-9.+-]*-dev\b' "$root/scripts/install-deps.sh" | sort -u); do
    [ "$pkg" = libclang-rt-14-dev ] && continue # sanitizer runtime for tests only
    [[ $dockerfile == *" $pkg "* ]] || fail "Dockerfile lacks build dependency $pkg (scripts/install-deps.sh)"
done

# 7. The runtime tree collect-rootfs.sh makes runs the binary with only the libraries it copied
#    (skipped with CHECK_DEPLOY_SKIP_ROOTFS=1: test-check-deploy.sh, whose mutations never touch
#    it, saves the copying).
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
if [ "${CHECK_DEPLOY_SKIP_ROOTFS:-0}" = 1 ]; then
    :
elif "$dir/collect-rootfs.sh" "$bin/nsl-enclave" "$dir/enclave.json" "$tree" 2>/dev/null; then
    loader=$(find "$tree" -name 'ld-linux*.so*' | head -1)
    libs=$(find "$tree" -name '*.so*' -printf '%h\n' | sort -u | paste -sd:)
    [ -n "$loader" ] && "$loader" --library-path "$libs" --inhibit-cache "$tree/usr/bin/nsl-enclave" \
        --config "$tree/etc/nsl/enclave.json" --version >/dev/null ||
        fail "the collected runtime tree does not run nsl-enclave on its own libraries"
    [ -s "$tree/etc/ssl/certs/ca-certificates.crt" ] || fail "the runtime tree has no CA bundle"
else
    fail "collect-rootfs.sh failed on $bin/nsl-enclave"
fi

# 8. The guide states the same addresses and sizes, says what cannot run here and what is not
#    wired yet; the repo README links it.
guide=$(<"$dir/README.md")
for s in "$e_listen" "$e_host" "$e_egress" "$p_enclave" "$p_host" "$p_egress" \
    "memory_mib: $pool_mib" "cpu_count: $pool_cpus" "--enclave-cid" "build-enclave" "run-enclave" \
    "kms:RecipientAttestation:PCR0" "NoNewPrivileges" "cannot run here" "not yet wired"; do
    [[ $guide == *"$s"* ]] || fail "deploy/nitro/README.md does not mention \"$s\""
done
grep -q 'deploy/nitro/README.md' "$root/README.md" || fail "README.md does not link deploy/nitro/README.md"

if [ "$failures" != 0 ]; then
    echo "check-deploy: $failures problem(s) in $dir" >&2
    exit 1
fi
echo "check-deploy: $dir is consistent with itself and with $bin"
