// The one seam for new identifiers. Only RandomIdGenerator, built in main.cc,
// draws random numbers; tests use sequential ids of the same format.
#ifndef SERVICEMANAGER_SERVER_COMMON_ID_GENERATOR_H_
#define SERVICEMANAGER_SERVER_COMMON_ID_GENERATOR_H_

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/random/random.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"

namespace servicemanager::common {

// Thread-safe.
class IdGenerator {
 public:
  virtual ~IdGenerator() = default;
  // 32 lowercase hex characters, as App Runner's service ids.
  virtual std::string NewServiceId() = 0;
  // An RFC 4122 UUID of version 4's form, 36 characters, lowercase.
  virtual std::string NewOperationId() = 0;
  // 10 lowercase letters and digits: the first label of a service URL.
  virtual std::string NewUrlLabel() = 0;
};

class RandomIdGenerator final : public IdGenerator {
 public:
  // `clock` must outlive the generator.
  explicit RandomIdGenerator(Clock& clock) : clock_(clock) {}

  std::string NewServiceId() override;
  // The first 48 bits are the time in milliseconds, as in a version 7 UUID,
  // and the other 74 free bits random: a new operation's id then lands beside
  // the last one in the index of operation ids, not at a random place, which
  // saves each accepted write most of a page of the log (BENCHMARKS.md, "What
  // a write costs the writer"). The version digit stays 4, as App Runner's
  // model allows versions 1 to 5 only.
  std::string NewOperationId() override;
  std::string NewUrlLabel() override;

 private:
  uint64_t Next();

  Clock& clock_;
  absl::Mutex mu_;
  absl::BitGen gen_ ABSL_GUARDED_BY(mu_);
};

}  // namespace servicemanager::common

#endif  // SERVICEMANAGER_SERVER_COMMON_ID_GENERATOR_H_
