// A clock that moves only when the test advances it.
#ifndef SERVICEMANAGER_TESTS_TESTING_FAKE_CLOCK_H_
#define SERVICEMANAGER_TESTS_TESTING_FAKE_CLOCK_H_

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace servicemanager::testing {

class FakeClock final : public common::Clock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1767225600))
      : now_(start) {}

  absl::Time Now() override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }

 private:
  absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace servicemanager::testing

#endif  // SERVICEMANAGER_TESTS_TESTING_FAKE_CLOCK_H_
