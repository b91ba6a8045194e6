// The one seam for reading time. Only RealClock, built in main.cc, reads the
// system clock; everything else takes a Clock& so tests control time.
#ifndef SERVICEMANAGER_SERVER_COMMON_CLOCK_H_
#define SERVICEMANAGER_SERVER_COMMON_CLOCK_H_

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace servicemanager::common {

// Thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() = 0;
};

class RealClock final : public Clock {
 public:
  absl::Time Now() override { return absl::Now(); }
};

}  // namespace servicemanager::common

#endif  // SERVICEMANAGER_SERVER_COMMON_CLOCK_H_
