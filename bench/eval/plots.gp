# SPDX-License-Identifier: BSD-2-Clause
# bench/eval/plots.gp - the figures of make eval from the CSV files in dir (docs/eval).
#   gnuplot -e "dir='docs/eval'; stamp='machine, kernel, date'" bench/eval/plots.gp
# Every figure carries stamp (machine, kernel, date) at its foot.
set terminal pngcairo size 1000,620 font "sans,11" noenhanced
set datafile separator ","
set datafile columnheaders
set grid lc rgb "#dddddd"
set key inside left top box opaque
set label 99 stamp at screen 0.01, 0.02 font "sans,9" tc rgb "#555555"
set bmargin 5

tools = "sink mq-xdp mq-packet tcpdump netsniff"
names = "'XDP drop (the bound)' 'mqcount -b xdp' 'mqcount -b packet' 'tcpdump -w /dev/null' 'netsniff-ng -o /dev/null'"
name(i) = word(names, i)
cap = dir."/capture.csv"
# One panel per condition (the NAPI thread's nice N, the tools beside it or apart: P), one line
# per tool: rows of other tools and conditions are undefined (the CSV keeps them together).
sel(i, col) = (strcol(1) eq word(tools, i) && strcol(3) eq N && strcol(4) eq P) ? column(col) : NaN
set style line 1 lc rgb "#888888" lw 2 dt 2 pt 6
set style line 2 lc rgb "#1b7837" lw 2 pt 7
set style line 3 lc rgb "#5aae61" lw 2 pt 5
set style line 4 lc rgb "#c51b7d" lw 2 pt 9
set style line 5 lc rgb "#2166ac" lw 2 pt 11
nices = "0 -10"
places = "beside apart"
panel(n, p) = sprintf("NAPI thread at nice %s, tool %s", n, p eq "beside" ? "on its CPU" : "on the other CPU")
set terminal pngcairo size 1400,1000 font "sans,10" noenhanced
set label 99 stamp at screen 0.01, 0.01 font "sans,9" tc rgb "#555555"
set xlabel "offered load (Mpps, measured at the sender's RSS program)"
set xrange [0:*]

# The headline: loss against offered load, per tool, in each condition
set output dir."/loss.png"
set multiplot layout 2,2 title "Capture loss against offered load: 64-byte TCP (paper workload), 1 RX queue, its NAPI thread on one core"
set ylabel "loss (% of offered frames not captured)"
set yrange [0:*]
do for [a=1:2] { do for [b=1:2] {
	N = word(nices, a); P = word(places, b)
	set title panel(N, P)
	plot for [i=1:5] cap using (sel(i, 10)):(sel(i, 9)) with linespoints ls i title name(i)
} }
unset multiplot

set output dir."/capture.png"
set multiplot layout 2,2 title "Captured against offered load, beside the bound (XDP drop) at the same load"
set ylabel "captured (Mpps)"
do for [a=1:2] { do for [b=1:2] {
	N = word(nices, a); P = word(places, b)
	set title panel(N, P)
	plot for [i=1:5] cap using (sel(i, 10)):(sel(i, 11)) with linespoints ls i title name(i), \
	     x with lines lc rgb "#bbbbbb" dt 3 title "captured = offered"
} }
unset multiplot

set output dir."/bound.png"
set multiplot layout 2,2 title "Each tool as a fraction of the bound: (captured / offered) / (XDP drop absorbed / its offered), same target rate and NAPI nice"
set key inside left bottom
set ylabel "fraction of the bound (%)"
set yrange [0:110]
do for [a=1:2] { do for [b=1:2] {
	N = word(nices, a); P = word(places, b)
	set title panel(N, P)
	plot for [i=2:5] cap using (sel(i, 10)):(100 * sel(i, 13)) with linespoints ls i title name(i), \
	     100 with lines ls 1 title "the bound (XDP drop)"
} }
unset multiplot
set key inside left top
set terminal pngcairo size 1000,620 font "sans,11" noenhanced
set label 99 stamp at screen 0.01, 0.02 font "sans,9" tc rgb "#555555"

# Table 2: each setup beside the sink on the same testbed
set output dir."/table2.png"
set title "The paper's Table 2 at the generator's full rate (mqcount -b xdp unless noted)"
set xlabel ""
set ylabel "captured (Mpps)"
set yrange [0:*]
set xrange [*:*]
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set xtics rotate by -12 scale 0
set key inside right top
set offsets 0, 0, graph 0.25, 0
t2 = dir."/table2.csv"
plot t2 using 7:xtic(2) title "capture" lc rgb "#1b7837", \
     '' using 8 title "XDP drop (the bound), same testbed" lc rgb "#aaaaaa", \
     '' using ($0 - 0.2):($7 + 0.03):(sprintf("%.0f%%", 100 * $9)) with labels notitle font "sans,10"
unset xtics
set xtics

# The ring by burst size
set output dir."/ring.png"
set title "SPSC ring throughput by burst size (producer and consumer on different cores)"
set ylabel "million items/s (median)"
set xlabel "element size, burst"
set xtics rotate by 0
ring = dir."/ring.csv"
plot ring using 3:xtic(sprintf("%dB, %d", $1, $2)) title "mqcap" lc rgb "#1b7837", \
     '' using 4 title "DPDK rte_ring SP/SC" lc rgb "#2166ac", \
     '' using 5 title "ck_ring SPSC" lc rgb "#c51b7d"

# The generator
set output dir."/send.png"
set title "Generators on one core: paper workload, frames arriving at the receiving veth"
set ylabel "Mpps"
set xlabel ""
set key off
plot dir."/send.csv" using 2:xtic(1) lc rgb "#2166ac" notitle, \
     '' using ($0):($2 + 0.02):(sprintf("%.3f", $2)) with labels notitle
