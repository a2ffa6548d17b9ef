#!/bin/sh
# Builds the enclave image's whole file tree in ROOT from the built binary: the binary (stripped)
# as /usr/bin/nsl-enclave, every shared library it loads with the dynamic loader (from ldd, at
# their own paths), the CA bundle for outbound HTTPS, and the config as /etc/nsl/enclave.json.
# Nothing else: no shell, no package manager. Runs in the Dockerfile's build stage.
#   collect-rootfs.sh BINARY CONFIG ROOT
set -eu
bin=$1 config=$2 root=$3
mkdir -p "$root/usr/bin" "$root/etc/nsl" "$root/etc/ssl/certs" "$root/tmp"
chmod 1777 "$root/tmp"
install -m 0755 -s "$bin" "$root/usr/bin/nsl-enclave"
install -m 0644 "$config" "$root/etc/nsl/enclave.json"
install -m 0644 /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
# ldd prints "name => /path (addr)" for libraries and "/path (addr)" for the loader.
ldd "$bin" | awk '/=> \// { print $3 } /^[[:space:]]*\// { print $1 }' | sort -u |
while read -r lib; do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
done
# The loader is also reached through /lib64 on x86-64 (the path compiled into the binary).
if [ -e /lib64/ld-linux-x86-64.so.2 ] && [ ! -e "$root/lib64/ld-linux-x86-64.so.2" ]; then
    mkdir -p "$root/lib64"
    cp -L /lib64/ld-linux-x86-64.so.2 "$root/lib64/"
fi
