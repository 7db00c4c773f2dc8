#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# bpf_no_libc.sh CLANG CFLAGS... -- SOURCES...
# Fails when a BPF object would include a libc header. With -target bpf, glibc's headers
# ask for gnu/stubs-32.h, which only a multilib install (libc6-dev-i386) has: a build that
# includes <stdint.h> works on a machine that happens to have it and breaks on a fresh one.
# BPF code may use the kernel's uapi headers (linux/, asm/, asm-generic/), libbpf's bpf/,
# the compiler's own freestanding headers and the project's headers; nothing else.
set -uo pipefail
clang=$1; shift
flags=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do flags+=("$1"); shift; done
shift
[ $# -gt 0 ] || { echo "FAIL: no BPF sources given"; exit 1; }
resource=$("$clang" -print-resource-dir)
src_root=$(cd "$(dirname "$0")/../.." && pwd)
rc=0
for src in "$@"; do
	deps=$("$clang" "${flags[@]}" -M -MT x "$src" 2>&1) || {
		echo "FAIL: $src does not preprocess: $deps"; rc=1; continue; }
	bad=()
	for h in $(tr -d '\\' <<<"${deps#x:}"); do
		h=$(realpath -m "$h")
		case "$h" in
			"$src_root"/*|"$resource"/*) ;;
			/usr/include/linux/*|/usr/include/asm-generic/*|/usr/include/bpf/*) ;;
			/usr/include/asm/*|/usr/include/*-linux-gnu*/asm/*) ;;
			*) bad+=("$h") ;;
		esac
	done
	if [ ${#bad[@]} -gt 0 ]; then
		echo "FAIL: $(basename "$src") includes headers outside the kernel uapi and libbpf:"
		printf '  %s\n' "${bad[@]}"
		rc=1
	else
		echo "ok: $(basename "$src") includes only uapi, libbpf and project headers"
	fi
done
exit $rc
