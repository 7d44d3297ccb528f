# bench/results.png from bench/run/plot.dat (written by bench/bench.py):
#   gnuplot -e "datafile='...'; outfile='...'; plain=N; headers=N; floor=N; ymax=N; overmax=N; subtitle='...'" bench/plot.gp
# (floor: the control module bench/floor/ writing the same four lines; the
# goal for an allowed GET is at most the floor + 1,000)
# (ymax: the largest instructions/request, overmax: the largest cost over plain)
# Data blocks: 0 mod_cors exact origins, 1 SetEnvIf regex recipe,
# 2 mod_cors subdomain patterns, 3 mod_cors denied origin.
# Columns: origins, instructions/request, instructions over plain.

set terminal pngcairo size 1400,640 font "DejaVu Sans,11" noenhanced
set output outfile
set multiplot layout 1,2 title "CORS: instructions per request against the number of allowed origins\n".subtitle font "DejaVu Sans,13"

set logscale x 10
set xrange [0.7:200000]
set format x "%.0s%c"
set xtics ("1" 1, "10" 10, "100" 100, "1k" 1000, "10k" 10000, "100k" 100000)
set grid xtics ytics mytics lc rgb "#dddddd"
set key top left opaque box font ",10" samplen 3
set xlabel "allowed origins configured (log scale)"

cors  = "#1f77b4"
regex = "#d62728"
sub   = "#2ca02c"
deny  = "#9467bd"

# ---- left: instructions per request (log y)
set logscale y 10
set yrange [plain*0.85:ymax*2.2]
set ytics ("30k" 30000, "35k" 35000, "40k" 40000, "50k" 50000, "70k" 70000, "100k" 100000, "150k" 150000, "200k" 200000, "300k" 300000, "500k" 500000, "1M" 1000000)
set ylabel "instructions per request (callgrind, log scale)"
set title "whole request, all of httpd"
plot \
  plain   with lines dt 2 lw 2 lc rgb "#555555" title sprintf("plain, no CORS (%.0f)", plain), \
  headers with lines dt 3 lw 2 lc rgb "#ff7f0e" title sprintf("mod_headers, 1 fixed origin (%.0f)", headers), \
  datafile index 1 using 1:2 with linespoints pt 7 ps 1.4 lw 2 lc rgb regex title "SetEnvIf regex recipe (match on the last)", \
  datafile index 0 using 1:2 with linespoints pt 5 ps 1.4 lw 2 lc rgb cors title "mod_cors, exact origins (allowed)", \
  datafile index 2 using 1:2 with points pt 9 ps 2 lc rgb sub title "mod_cors, subdomain patterns (allowed)", \
  datafile index 3 using 1:2 with linespoints pt 13 ps 1.4 lw 1 dt 4 lc rgb deny title "mod_cors, origin not listed"

# ---- right: cost over plain (log y)
set yrange [300:overmax*12]
set ytics ("500" 500, "1k" 1000, "2k" 2000, "5k" 5000, "10k" 10000, "20k" 20000, "50k" 50000, "100k" 100000, "200k" 200000, "500k" 500000, "1M" 1000000)
set ylabel "instructions over plain (log scale)"
set title "cost of CORS per request"
plot \
  (floor > plain ? floor-plain+1000 : 1/0) with lines dt 2 lw 2 lc rgb "#555555" title sprintf("goal, allowed GET: the floor + 1,000 (%+.0f)", floor-plain+1000), \
  (floor > plain ? floor-plain : 1/0) with lines dt 1 lw 2 lc rgb "#8c564b" title sprintf("floor: any module writing the same four lines (%+.0f)", floor-plain), \
  headers-plain with lines dt 3 lw 2 lc rgb "#ff7f0e" title sprintf("mod_headers, 1 fixed origin (%+.0f)", headers-plain), \
  datafile index 1 using 1:3 with linespoints pt 7 ps 1.4 lw 2 lc rgb regex title "SetEnvIf regex recipe", \
  datafile index 1 using 1:3:(sprintf("%+.0f", $3)) with labels offset -4.5,0.4 tc rgb regex notitle, \
  datafile index 0 using 1:3 with linespoints pt 5 ps 1.4 lw 2 lc rgb cors title "mod_cors, exact origins", \
  datafile index 0 using 1:3:(sprintf("%+.0f", $3)) with labels offset 0,1.2 tc rgb cors notitle, \
  datafile index 2 using 1:3 with points pt 9 ps 2 lc rgb sub title "mod_cors, 1,000 subdomain patterns", \
  datafile index 3 using 1:3 with linespoints pt 13 ps 1.4 lw 1 dt 4 lc rgb deny title "mod_cors, origin not listed"

unset multiplot
