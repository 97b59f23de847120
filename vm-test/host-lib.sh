# Helpers of the BSD rigs' host halves (vm-test/dragonfly/run.sh,
# vm-test/netbsd/run.sh), sourced; $ctl is mirrorctl.

# new_legs DIR N SIZE: leg images with our metadata; prints data sectors.
new_legs() {
	local dir=$1 n=$2 size=$3 legs=()
	mkdir -p "$dir"
	for i in $(seq 0 $((n - 1))); do
		rm -f "$dir/leg$i.img"
		truncate -s "$size" "$dir/leg$i.img"
		legs+=("$dir/leg$i.img")
	done
	"$ctl" create --json --chunk-size 1M "${legs[@]}" | sed -n 's/.*"data_sectors":\([0-9]*\).*/\1/p'
}
# ... | matches PATTERN: reads all its input (grep -q on a pipe would end
# the writer early, and pipefail would turn a match into a miss).
matches() { grep -c -- "$1" > /dev/null; }
# legs_identical LEG...: every leg compared, none differs.
legs_identical() { "$ctl" check "$@" | tail -n 1 | matches "over $# legs: 0 differ,"; }
