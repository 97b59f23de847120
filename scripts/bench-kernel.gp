# The kernel comparison's plot for docs/bench.md (vm-test/bench-kernel.sh
# writes the data); dir is set by -e.
set terminal pngcairo size 900,480 font "DejaVu Sans,11"
set grid ytics
set output dir."/kernel.png"
set title "Ours over md raid1 and over Linux dm-mirror (above 1: ours better)"
set ylabel "ratio (log scale)"
set logscale y
set yrange [0.5:*]
set style data histogram
set style histogram cluster gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set xtics rotate by -30
set key top right
plot dir."/kernel.dat" using 2:xtic(1) title "ours / md", \
     "" using 3 title "ours / dm-mirror", \
     1 with lines lw 2 lc rgb "black" notitle
