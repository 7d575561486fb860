# Sourced by the build and guest scripts: the supported kernel versions and
# where each one's trees live.  6.1 keeps the paths it had before 6.12 was
# added; other versions get their own.
#
#   kver_check VERSION          exit with a message unless it is supported
#   kver_src BUILD VERSION      the unpacked, patched source tree
#   kver_out BUILD VERSION VAR  the O= output directory of variant VAR
KVER_SUPPORTED="6.1 6.12"
KVER_DEFAULT=6.1

kver_check() {
	case " $KVER_SUPPORTED " in
	*" $1 "*) ;;
	*) printf 'unknown kernel version %s (supported: %s)\n' "$1" \
		"$KVER_SUPPORTED" >&2
	   exit 2 ;;
	esac
}

kver_src() {
	if [ "$2" = 6.1 ]; then echo "$1/linux"; else echo "$1/linux-$2"; fi
}

kver_out() {
	if [ "$2" = 6.1 ]; then echo "$1/kernel/$3"; else echo "$1/kernel/$2-$3"; fi
}
