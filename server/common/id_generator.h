// The one seam for new identifiers. Only RandomIdGenerator, built in main.cc,
// draws random numbers; tests use sequential ids of the same format.
#ifndef SERVICEMANAGER_SERVER_COMMON_ID_GENERATOR_H_
#define SERVICEMANAGER_SERVER_COMMON_ID_GENERATOR_H_

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/random/random.h"
#include "absl/synchronization/mutex.h"

namespace servicemanager::common {

// Thread-safe.
class IdGenerator {
 public:
  virtual ~IdGenerator() = default;
  // 32 lowercase hex characters, as App Runner's service ids.
  virtual std::string NewServiceId() = 0;
  // An RFC 4122 version 4 UUID, 36 characters, lowercase.
  virtual std::string NewOperationId() = 0;
  // 10 lowercase letters and digits: the first label of a service URL.
  virtual std::string NewUrlLabel() = 0;
};

class RandomIdGenerator final : public IdGenerator {
 public:
  std::string NewServiceId() override;
  std::string NewOperationId() override;
  std::string NewUrlLabel() override;

 private:
  uint64_t Next();

  absl::Mutex mu_;
  absl::BitGen gen_ ABSL_GUARDED_BY(mu_);
};

}  // namespace servicemanager::common

#endif  // SERVICEMANAGER_SERVER_COMMON_ID_GENERATOR_H_
