-- wrk script for the preflight measurements (bench/bench.py): every request
-- is an OPTIONS; Origin, Access-Control-Request-Method and -Headers are given
-- with -H on wrk's command line, so this file only changes the method.
wrk.method = "OPTIONS"
