// The service ids sm_bench_seed writes and the load generator calls. They
// look like the server's (32 random hex digits), so the database's trees
// have the shape that random ids give them, but they are a function of the
// service's number and need no lookup.
#ifndef SERVICEMANAGER_BENCH_SEEDED_IDS_H_
#define SERVICEMANAGER_BENCH_SEEDED_IDS_H_

#include <cstdint>
#include <string>

#include "absl/strings/str_format.h"

namespace servicemanager::bench {

// SplitMix64's finalizer: a bijection of 64-bit integers, so distinct
// numbers give distinct ids.
inline uint64_t Mix(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// The id of the i-th seeded service.
inline std::string SeededServiceId(int64_t i) {
  const uint64_t n = static_cast<uint64_t>(i);
  return absl::StrFormat("%016x%016x", Mix(~n), Mix(n));
}

}  // namespace servicemanager::bench

#endif  // SERVICEMANAGER_BENCH_SEEDED_IDS_H_
