#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# abbuild.sh REV DIR: builds git revision REV of this tree (`make all` in a throwaway detached
# worktree under build/) and copies its build/bin to DIR, for the A/B bench (run.sh with
# BENCH_AB) and `make size`. The worktree is removed afterwards, also on failure or Ctrl-C.
# Prints the resolved commit on stdout; the build log goes to DIR.log.
set -u
rev=$1 dir=$2
top=$(cd "$(dirname "$0")/.." && pwd)
commit=$(git -C "$top" rev-parse --verify --quiet "$rev^{commit}") || {
	echo "abbuild: $rev is not a commit of $top" >&2
	exit 1
}
mkdir -p "$top/build"
src="$top/build/ab-src.$$"
cleanup() {
	git -C "$top" worktree remove --force "$src" 2>/dev/null
	rm -rf "$src"
	git -C "$top" worktree prune 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cleanup
if ! git -C "$top" worktree add --detach --quiet "$src" "$commit" >/dev/null; then
	echo "abbuild: git worktree add $rev failed" >&2
	exit 1
fi
echo "abbuild: building $rev ($(git -C "$top" log -1 --format='%h %s' "$commit" | cut -c1-70))" >&2
# Its own build/ and make state: not a BUILD, MAKEFLAGS or jobserver of the caller's.
if ! env -u BUILD -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u SANITIZE make -C "$src" -j2 all BUILD=build \
	>"$dir.log" 2>&1; then
	echo "abbuild: make all of $rev failed (log: ${dir#"$top"/}.log):" >&2
	tail -20 "$dir.log" >&2
	exit 1
fi
rm -rf "$dir"
mkdir -p "$dir" && cp -p "$src"/build/bin/* "$dir"/ || exit 1
echo "$commit"
