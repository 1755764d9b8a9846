#!/bin/sh
# Run the engine's C test programs and report their combined counts.
# Each program prints TAP-style "ok N - ..." / "not ok N - ..." lines and a
# "# N passed, N failed" summary; failures and summaries are shown here, the
# full output of each program is kept in build/tests/NAME.log.
passed=0; failed=0; status=0
for t in "$@"; do
	[ -x "$t" ] && [ -f "$t" ] || continue
	name=$(basename "$t")
	"$t" > "$t.log" 2>&1; rc=$?
	p=$(grep -c '^ok ' "$t.log")
	f=$(grep -c '^not ok ' "$t.log")
	grep -E '^not ok|^# skipped|^# [0-9]+ passed' "$t.log" | sed "s|^|$name: |"
	if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "$name: exited with status $rc"; tail -5 "$t.log"; f=1
	fi
	[ $rc -ne 0 ] && status=1
	passed=$((passed + p)); failed=$((failed + f))
done
echo "c-tests: $passed passed, $failed failed"
exit $status
