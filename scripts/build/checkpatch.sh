#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Run the kernel's checkpatch.pl --strict over every C source and header
# of the project.  checkpatch comes from Debian's linux-source-6.12, so the
# style gate is the one the kernel itself uses.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cache=$top/.cache/checkpatch
if [ ! -x "$cache/scripts/checkpatch.pl" ]; then
	deb=$(ls "$top"/.cache/src/linux-source-6.12_*_all.deb 2>/dev/null | head -1 || true)
	if [ -z "$deb" ]; then
		mkdir -p "$top/.cache/src"
		(cd "$top/.cache/src" && apt-get download -qq linux-source-6.12)
		deb=$(ls "$top"/.cache/src/linux-source-6.12_*_all.deb | head -1)
	fi
	tmp=$(mktemp -d)
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" --wildcards '*.tar.xz'
	mkdir -p "$cache"
	tar -xJf "$tmp"/usr/src/linux-source-6.12.tar.xz -C "$cache" \
		--strip-components=1 --wildcards 'linux-source-6.12/scripts/checkpatch.pl' \
		'linux-source-6.12/scripts/spelling.txt' \
		'linux-source-6.12/scripts/const_structs.checkpatch'
	rm -rf "$tmp"
fi
cd "$top"
files=$(git ls-files '*.c' '*.h' | grep -v '^fuzz/')
# shellcheck disable=SC2086
perl "$cache/scripts/checkpatch.pl" --strict --no-tree --terse \
	-f $files
# libFuzzer's entry point is named LLVMFuzzerTestOneInput by its ABI.
# shellcheck disable=SC2046
perl "$cache/scripts/checkpatch.pl" --strict --no-tree --terse \
	--ignore CAMELCASE -f $(git ls-files 'fuzz/*.c' 'fuzz/*.h')
