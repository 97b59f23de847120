#!/usr/bin/perl
# Reads `objdump -dr` of the kernel object. A function's frame is the sum
# of its stack pointer subtractions (a big frame is probed page by page)
# and its pushes. Prints "frame BYTES NAME" for every frame over 4 KiB, and
# "chain BYTES NAME PATH" for each exported dmm_* function: the deepest
# stack use along its direct calls (frames plus return addresses; indirect
# calls are not followed), PATH naming the frames of that chain.
my (%frame, %calls, $f, $last_call);
while (<>) {
	if (/^[0-9a-f]+ <(.*)>:$/) { $f = $1; $frame{$f} = 0; $calls{$f} = {}; next }
	next unless defined $f;
	$frame{$f} += hex($1) if /sub\s+\$0x([0-9a-f]+),%r(?:sp|11)/;
	$frame{$f} += 8 if /\tpush\s+%r/;
	$last_call = /\s(call|jmp)\s/ ? 1 : 0 if /^\s+[0-9a-f]+:\t/;
	$calls{$f}{$1} = 1 if $last_call && /R_X86_64_(?:PLT32|PC32)\s+(?:\.text\.)?([^\s+-]+)/;
}
my (%memo, %via, %busy);
sub depth {
	my ($g) = @_;
	return $memo{$g} if exists $memo{$g};
	return 0 if $busy{$g} || !exists $frame{$g} || $g =~ /probestack/;
	$busy{$g} = 1;
	my ($max, $deepest) = (0, undef);
	for my $c (sort keys %{$calls{$g}}) {
		my $d = depth($c);
		($max, $deepest) = ($d, $c) if $d > $max;
	}
	$busy{$g} = 0;
	$via{$g} = $deepest;
	return $memo{$g} = $frame{$g} + 8 + $max;
}
# A symbol as c++filt demangles it, less crate hashes and generic arguments.
my %short;
sub short {
	my ($n) = @_;
	return $short{$n} if exists $short{$n};
	my $d = `c++filt '$n'`;
	chomp $d;
	$d =~ s/\[[0-9a-f]+\]//g;
	1 while $d =~ s/<[^<>]*>(?=::|$)//;
	$d =~ s/^<|>$//g;
	my @parts = split /::/, $d;
	return $short{$n} = @parts > 2 ? join('::', @parts[-2 .. -1]) : $d;
}
for my $g (sort keys %frame) {
	printf "frame %d %s\n", $frame{$g}, $g if $frame{$g} > 4096 && $g !~ /probestack/;
}
for my $e (sort grep { /^dmm_/ } keys %frame) {
	my ($d, @path) = (depth($e));
	for (my $g = $e; defined $g; $g = $via{$g}) { push @path, short($g) . "($frame{$g})" }
	printf "chain %d %s %s\n", $d, $e, join(' > ', @path);
}
