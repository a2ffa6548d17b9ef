#!/usr/bin/env bash
# Proves that scripts/check-deploy.sh catches drift: on a copy of deploy/nitro, each mutation
# below (one at a time) must make it fail, and the unmodified copy must pass.
#   scripts/test-check-deploy.sh BIN_DIR        (ctest deploy/nitro-drift)
set -euo pipefail

bin=${1:?usage: test-check-deploy.sh BIN_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fresh() {
    rm -rf "$work/nitro"
    cp -r "$root/deploy/nitro" "$work/nitro"
}

mutations=(
    "parent.json: host channel port differs|sed -i 's|vsock://ANY:5001|vsock://ANY:5009|' parent.json"
    "enclave.json: setting the binary lacks|sed -i 's|\"mode\": \"nitro\",|\"mode\": \"nitro\", \"bogus\": 1,|' enclave.json"
    "enclave.json: value out of range|sed -i 's|\"workers\": 16|\"workers\": 0|' enclave.json"
    "enclave.env: CID the parent does not dial|sed -i 's|^NSL_ENCLAVE_CID=16|NSL_ENCLAVE_CID=17|' enclave.env"
    "allocator.yaml: pool smaller than the enclave|sed -i 's|^memory_mib: 1024|memory_mib: 512|' allocator.yaml"
    "enclave.env: odd CPU count|sed -i 's|^NSL_ENCLAVE_CPUS=2|NSL_ENCLAVE_CPUS=3|' enclave.env"
    "key policy: PCR2 not pinned|jq 'del(.Statement[1].Condition.StringEqualsIgnoreCase.\"kms:RecipientAttestation:PCR2\")' kms-key-policy.json > p && mv p kms-key-policy.json"
    "key policy: an unconditioned kms:*|jq '.Statement += [{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"*\"},\"Action\":\"kms:*\",\"Resource\":\"*\"}]' kms-key-policy.json > p && mv p kms-key-policy.json"
    "key policy: not JSON|echo '{' > kms-key-policy.json"
    "Dockerfile: builds another target|sed -i 's|--target nsl-enclave|--target nsl|' Dockerfile"
    "Dockerfile: lacks a build dependency|sed -i 's| libcbor-dev||' Dockerfile"
    "Dockerfile: copies another binary|sed -i 's|collect-rootfs.sh build/bin/nsl-enclave|collect-rootfs.sh build/nsl-enclave|' Dockerfile"
    "nsl-parent.service: option nsl-parent lacks|sed -i 's|^ExecStart=.*|ExecStart=/usr/local/bin/nsl-parent --config /etc/nsl/parent.json --no-such-option|' systemd/nsl-parent.service"
    "nsl-parent.service: not hardened|sed -i '/^NoNewPrivileges=yes/d' systemd/nsl-parent.service"
    "nsl-enclave.service: CPU count not passed|sed -i 's| --cpu-count \${NSL_ENCLAVE_CPUS}||' systemd/nsl-enclave.service"
    "README: port not stated|sed -i 's|vsock://3:5001|vsock://3:PORT|g' README.md"
)

fresh
"$root/scripts/check-deploy.sh" "$bin" "$work/nitro" >/dev/null ||
    { echo "test-check-deploy: the unmodified copy does not pass" >&2; exit 1; }
failed=0
export CHECK_DEPLOY_SKIP_ROOTFS=1 # checked once above; no mutation touches it
for m in "${mutations[@]}"; do
    name=${m%%|*} cmd=${m#*|}
    fresh
    (cd "$work/nitro" && eval "$cmd")
    if "$root/scripts/check-deploy.sh" "$bin" "$work/nitro" >"$work/out" 2>&1; then
        echo "test-check-deploy: NOT caught: $name" >&2
        failed=1
    else
        echo "caught: $name ($(grep -m1 '^check-deploy: ' "$work/out" | cut -c15-))"
    fi
done
exit "$failed"
