# SPDX-License-Identifier: GPL-2.0
# TAP for the shell tests (tests/tap.h's counterpart), sourced:
#
#   . "$top/tests/tap.sh"
#   echo "1..N"			(the plan, first)
#   ok "what is checked" "$(a check that prints only what is wrong)"
#   ...
#   exit $status
status=0
n=0
ok() {	# WHAT OUTPUT: ok if OUTPUT is empty
	n=$((n + 1))
	if [ -z "$2" ]; then
		echo "ok $n $1"
	else
		echo "not ok $n $1"; echo "$2" | sed 's/^/#  /'; status=1
	fi
}
