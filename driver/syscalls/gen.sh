#!/bin/sh
# Regenerates names_x86_64.go from the kernel headers (Debian: linux-libc-dev).
set -eu
hdr=${1:-/usr/include/x86_64-linux-gnu/asm/unistd_64.h}
{
	echo '// Code generated from <asm/unistd_64.h> (x86_64) by ./gen.sh; DO NOT EDIT.'
	echo
	echo 'package syscalls'
	echo
	echo '// names maps x86_64 syscall numbers to their names.'
	echo 'var names = [...]string{'
	awk '/^#define __NR_/ { printf "\t%s: \"%s\",\n", $3, substr($2, 6) }' "$hdr"
	echo '}'
} | gofmt > names_x86_64.go
