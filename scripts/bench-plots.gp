# Plots for docs/bench.md from the data dmm-bench writes; dir is set by -e.
set terminal pngcairo size 800,480 font "DejaVu Sans,11"
set grid

set output dir."/recovery.png"
set title "Recovery after a crash, 16 dirty chunks"
set xlabel "volume size (GiB, log scale)"
set ylabel "ms"
set logscale x 2
set yrange [0:*]
set key top left
plot dir."/recovery.dat" using 1:3 with linespoints lw 2 pt 7 title "open to in sync", \
     dir."/recovery.dat" using 1:2 with linespoints lw 2 pt 5 title "assembly"
unset logscale x

set output dir."/metadata.png"
set title "Metadata writes per 10^4 writes, per member disk"
set xlabel ""
set ylabel "writes (log scale)"
set logscale y
set yrange [1:*]
set style data histogram
set style histogram cluster gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set key top left
plot dir."/metadata.dat" using 2:xtic(1) title "dm-mirror", "" using 3 title "md bitmap model"
