#!/bin/bash
# The test plumbing itself: a failing TAP line must fail the summary, a
# passing run must pass, and an empty run must not count as a pass.
top=${SYSLET_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
sum=$top/scripts/tap-summary
echo "TAP version 13"
echo "1..4"
printf 'ok 1 a\nok 2 b # SKIP no\n' | "$sum" >/dev/null && echo "ok 1 passing TAP passes" || echo "not ok 1 passing TAP passes"
printf 'ok 1 a\nnot ok 2 b\n' | "$sum" >/dev/null && echo "not ok 2 failing TAP fails" || echo "ok 2 failing TAP fails"
: | "$sum" >/dev/null && echo "not ok 3 no tests is a failure" || echo "ok 3 no tests is a failure"
line=$(printf 'ok 1 a\nnot ok 2 b\nok 3 c # SKIP x\n' | "$sum" | tail -1)
[ "$line" = "total: 1 passed, 1 failed, 1 skipped" ] && echo "ok 4 closing line counts" ||
	{ echo "not ok 4 closing line counts"; echo "# got: $line"; }
