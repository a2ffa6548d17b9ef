#!/usr/bin/env bash
# The nitro-cli steps of deploy/nitro/README.md, with the enclave's size and address taken from
# enclave.env (the same file nsl-enclave.service reads), so that they cannot disagree.
#
#   enclave.sh build [IMAGE]        docker build + nitro-cli build-enclave -> $NSL_ENCLAVE_EIF and
#                                   measurements.json (PCR0, PCR1, PCR2 of the EIF)
#   enclave.sh policy MEASUREMENTS  kms-key-policy.json with the PCRs filled in, on stdout
#   enclave.sh run [--debug]        nitro-cli run-enclave (--debug: console readable, PCRs all zero:
#                                   KMS refuses it, never in production)
#   enclave.sh stop | status
#
# Needs docker and nitro-cli (aws-nitro-enclaves-cli) on a Nitro-enabled EC2 instance; neither
# runs on the development machines, where this script is checked but never executed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
env_file=${NSL_ENCLAVE_ENV:-/etc/nsl/enclave.env}
[ -r "$env_file" ] || env_file=$here/enclave.env
# shellcheck source=enclave.env
. "$env_file"

build() {
    local image=${1:-nsl-enclave:latest} out
    docker build -f "$here/Dockerfile" -t "$image" "$here/../.."
    out=$(dirname "$NSL_ENCLAVE_EIF")
    mkdir -p "$out"
    # build-enclave prints {"Measurements": {"HashAlgorithm": ..., "PCR0": ..., "PCR1": ..., "PCR2": ...}}
    nitro-cli build-enclave --docker-uri "$image" --output-file "$NSL_ENCLAVE_EIF" \
        | tee "$out/measurements.json"
    echo "EIF: $NSL_ENCLAVE_EIF; PCRs: $out/measurements.json (next: enclave.sh policy)" >&2
}

policy() {
    local m=${1:?usage: enclave.sh policy MEASUREMENTS.json}
    jq -e '.Measurements | [.PCR0, .PCR1, .PCR2] | all(test("^[0-9a-f]{96}$"))' "$m" >/dev/null \
        || { echo "enclave.sh: $m has no PCR0/PCR1/PCR2 of 96 hex digits" >&2; exit 1; }
    jq --slurpfile m "$m" '
        (.Statement[] | select(.Condition.StringEqualsIgnoreCase) | .Condition.StringEqualsIgnoreCase)
        |= (."kms:RecipientAttestation:PCR0" = $m[0].Measurements.PCR0
          | ."kms:RecipientAttestation:PCR1" = $m[0].Measurements.PCR1
          | ."kms:RecipientAttestation:PCR2" = $m[0].Measurements.PCR2)' \
        "$here/kms-key-policy.json"
}

run() {
    local debug=()
    [ "${1:-}" = "--debug" ] && debug=(--debug-mode)
    nitro-cli run-enclave --enclave-name "$NSL_ENCLAVE_NAME" --eif-path "$NSL_ENCLAVE_EIF" \
        --cpu-count "$NSL_ENCLAVE_CPUS" --memory "$NSL_ENCLAVE_MEMORY_MIB" \
        --enclave-cid "$NSL_ENCLAVE_CID" "${debug[@]}"
}

case ${1:-} in
build) shift; build "$@" ;;
policy) shift; policy "$@" ;;
run) shift; run "$@" ;;
stop) nitro-cli terminate-enclave --enclave-name "$NSL_ENCLAVE_NAME" ;;
status) nitro-cli describe-enclaves ;;
*) sed -n '2,14p' "$0" >&2; exit 2 ;;
esac
