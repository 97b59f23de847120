#!/usr/bin/perl
# Reads `objdump -dr` of the kernel object. A function's frame is the sum
# of its stack pointer subtractions (a big frame is probed page by page).
# Prints "frame BYTES NAME" for every frame over 4 KiB, and "chain BYTES
# NAME" for each exported dmm_* function: the deepest stack use along its
# direct calls (frames plus return addresses; indirect calls are not
# followed).
my (%frame, %calls, $f, $last_call);
while (<>) {
	if (/^[0-9a-f]+ <(.*)>:$/) { $f = $1; $frame{$f} = 0; $calls{$f} = {}; next }
	next unless defined $f;
	$frame{$f} += hex($1) if /sub\s+\$0x([0-9a-f]+),%r(?:sp|11)/;
	$last_call = /\s(call|jmp)\s/ ? 1 : 0 if /^\s+[0-9a-f]+:\t/;
	$calls{$f}{$1} = 1 if $last_call && /R_X86_64_(?:PLT32|PC32)\s+(?:\.text\.)?([^\s+-]+)/;
}
my (%memo, %busy);
sub depth {
	my ($g) = @_;
	return $memo{$g} if exists $memo{$g};
	return 0 if $busy{$g} || !exists $frame{$g} || $g =~ /probestack/;
	$busy{$g} = 1;
	my $max = 0;
	for my $c (keys %{$calls{$g}}) { my $d = depth($c); $max = $d if $d > $max }
	$busy{$g} = 0;
	return $memo{$g} = $frame{$g} + 8 + $max;
}
for my $g (sort keys %frame) {
	printf "frame %d %s\n", $frame{$g}, $g if $frame{$g} > 4096 && $g !~ /probestack/;
}
for my $e (sort grep { /^dmm_/ } keys %frame) { printf "chain %d %s\n", depth($e), $e }
