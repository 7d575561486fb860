# Sourced by the shell tests of tests/lib: TAP lines for test functions.
# The caller sets n=0 and status=0.

# check WHAT FN...: one TAP line for test function FN; its transcript as
# "# " lines; a failure sets status=1
check() {
	local what=$1 out
	shift
	n=$((n + 1))
	if out=$("$@" 2>&1); then
		echo "ok $n $what"
	else
		echo "not ok $n $what"
		status=1
	fi
	[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/# /'
}
