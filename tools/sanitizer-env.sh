# Sourced by tools/sanitize.sh and tools/fuzz.sh: how the sanitizers report.
# UBSan is fatal (the builds also use -fno-sanitize-recover=all); leaks are
# reported, except the few of Debian's libraries listed in tools/lsan.supp.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ASAN_OPTIONS="detect_leaks=1:strict_init_order=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$root/tools/lsan.supp:print_suppressions=0"
