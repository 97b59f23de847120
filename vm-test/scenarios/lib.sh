# Helpers for scenarios (sourced). Legs are /dev/vda, /dev/vdb, ...
# A kernel warning or bug report fails the scenario, whatever it checked.
pass() {
	! dmesg | grep -q -e 'WARNING:' -e 'BUG:' || fail "the kernel warned: $(dmesg | grep -m1 -e 'WARNING:' -e 'BUG:')"
	echo "RESULT PASS $*"
}
fail() { echo "RESULT FAIL $*"; dmesg | tail -n 20; exit 1; }
load_ours() { # load_ours [register_as_mirror=1]
	insmod /lib/modules/dm-dmmirror.ko "$@" || fail "insmod dm-dmmirror.ko"
}
# Fields of our status line (after dmsetup's "start length target").
health() { dmsetup status "$1" | awk '{ print $(7 + $4) }'; }
sync_ratio() { dmsetup status "$1" | awk '{ print $(5 + $4) }'; }
in_sync() { # in_sync NAME: every chunk in sync and every leg alive
	r=$(sync_ratio "$1")
	[ "${r%/*}" = "${r#*/}" ] || return 1
	case $(health "$1") in *[!A]*) return 1 ;; esac
}
wait_in_sync() { # wait_in_sync NAME SECONDS
	i=0
	while [ $i -lt $(( $2 * 10 )) ]; do
		in_sync "$1" && return 0
		sleep 0.1
		i=$(( i + 1 ))
	done
	return 1
}
