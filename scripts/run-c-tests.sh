#!/bin/sh
# Run the engine's C test programs and report their combined counts.
# Each program prints TAP-style "ok N - ..." / "not ok N - ..." lines.
passed=0; failed=0; status=0
for t in "$@"; do
	out=$("$t" 2>&1); rc=$?
	p=$(printf '%s\n' "$out" | grep -c '^ok ')
	f=$(printf '%s\n' "$out" | grep -c '^not ok ')
	printf '%s\n' "$out" | grep -E '^(not ok|#)' | sed "s|^|$(basename "$t"): |"
	if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "$(basename "$t"): exited with status $rc"; f=1
	fi
	[ $rc -ne 0 ] && status=1
	passed=$((passed + p)); failed=$((failed + f))
done
echo "c-tests: $passed passed, $failed failed"
exit $status
