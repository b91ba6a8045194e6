# Sourced by tools/sanitize.sh and tools/fuzz.sh: how the sanitizers report.
# UBSan is fatal (the builds also use -fno-sanitize-recover=all); every leak
# is reported (Debian's gRPC and protobuf need no suppression).
export ASAN_OPTIONS="detect_leaks=1:strict_init_order=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
