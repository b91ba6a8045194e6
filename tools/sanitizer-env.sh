# Sourced by tools/sanitize.sh and tools/fuzz.sh: how the sanitizers report.
# UBSan is fatal (the builds also use -fno-sanitize-recover=all); every leak
# is reported, except libpq's own allocations (tools/lsan.supp says why; Debian's
# gRPC and protobuf need no suppression).
export ASAN_OPTIONS="detect_leaks=1:strict_init_order=1"
LSAN_OPTIONS="suppressions=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lsan.supp"
export LSAN_OPTIONS
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
