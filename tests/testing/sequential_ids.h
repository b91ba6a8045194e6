// Ids in the real formats, numbered 1, 2, 3... so tests can predict them.
#ifndef SERVICEMANAGER_TESTS_TESTING_SEQUENTIAL_IDS_H_
#define SERVICEMANAGER_TESTS_TESTING_SEQUENTIAL_IDS_H_

#include <atomic>
#include <string>

#include "absl/strings/str_format.h"
#include "common/id_generator.h"

namespace servicemanager::testing {

class SequentialIds final : public common::IdGenerator {
 public:
  std::string NewServiceId() override {
    return absl::StrFormat("%032x", ++services_);
  }
  std::string NewOperationId() override {
    return absl::StrFormat("00000000-0000-4000-8000-%012x", ++operations_);
  }
  std::string NewUrlLabel() override {
    return absl::StrFormat("url%07d", ++urls_);
  }

 private:
  std::atomic<int> services_ = 0;
  std::atomic<int> operations_ = 0;
  std::atomic<int> urls_ = 0;
};

}  // namespace servicemanager::testing

#endif  // SERVICEMANAGER_TESTS_TESTING_SEQUENTIAL_IDS_H_
