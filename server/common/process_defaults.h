// Process-wide settings for a process that serves gRPC: servicemanager sets
// them first thing in main. The benchmark's echo server and load generator
// set them too, so that its baseline and its client run gRPC as the server
// does.
#ifndef SERVICEMANAGER_SERVER_COMMON_PROCESS_DEFAULTS_H_
#define SERVICEMANAGER_SERVER_COMMON_PROCESS_DEFAULTS_H_

namespace servicemanager::common {

// Turns off absl's lock-order checking, which Debian's abseil (built
// without NDEBUG) runs on every absl::Mutex operation, gRPC's own included;
// tests keep it on. Keeps up to 64 MiB of freed heap in the process rather
// than glibc's default of 128 KiB: handing it back costs a madvise, whose TLB
// flush interrupts every core, and page faults to get it back
// (BENCHMARKS.md, "What random ids cost the writes"). Call before any
// thread starts.
void SetServingProcessDefaults();

}  // namespace servicemanager::common

#endif  // SERVICEMANAGER_SERVER_COMMON_PROCESS_DEFAULTS_H_
