// A Runtime that forwards to a SimulatedRuntime but fails the calls a test
// chooses, the way a real runtime fails (an image that will not start, a node
// that will not stop).
#ifndef SERVICEMANAGER_TESTS_TESTING_FAULTY_RUNTIME_H_
#define SERVICEMANAGER_TESTS_TESTING_FAULTY_RUNTIME_H_

#include <functional>
#include <set>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "runtime/simulated_runtime.h"

namespace servicemanager::testing {

class FaultyRuntime final : public runtime::Runtime {
 public:
  enum class Call { kDeploy, kStop, kRemove };

  // Calls of this kind fail until Heal().
  void Fail(Call call) {
    absl::MutexLock lock(&mu_);
    failing_.insert(call);
  }
  void Heal() {
    absl::MutexLock lock(&mu_);
    failing_.clear();
  }
  // Runs `hook` at the start of every call, as if something happened while
  // the runtime worked (a cancel, say).
  void SetHook(std::function<void(Call)> hook) {
    absl::MutexLock lock(&mu_);
    hook_ = std::move(hook);
  }

  absl::Status Deploy(const runtime::Deployment& deployment) override {
    if (Failing(Call::kDeploy)) {
      return absl::UnavailableError("injected: the image did not start");
    }
    return inner_.Deploy(deployment);
  }
  absl::Status Stop(absl::string_view service_id) override {
    if (Failing(Call::kStop)) {
      return absl::UnavailableError("injected: the compute did not stop");
    }
    return inner_.Stop(service_id);
  }
  absl::Status Remove(absl::string_view service_id) override {
    if (Failing(Call::kRemove)) {
      return absl::UnavailableError("injected: the compute was not removed");
    }
    return inner_.Remove(service_id);
  }

  absl::StatusOr<runtime::Inventory> List() override { return inner_.List(); }

  const runtime::SimulatedRuntime& inner() const { return inner_; }
  runtime::SimulatedRuntime& inner() { return inner_; }

 private:
  bool Failing(Call call) {
    std::function<void(Call)> hook;
    {
      absl::MutexLock lock(&mu_);
      hook = hook_;
    }
    if (hook) {
      hook(call);
    }
    absl::MutexLock lock(&mu_);
    return failing_.contains(call);
  }

  absl::Mutex mu_;
  std::set<Call> failing_ ABSL_GUARDED_BY(mu_);
  std::function<void(Call)> hook_ ABSL_GUARDED_BY(mu_);
  runtime::SimulatedRuntime inner_;
};

}  // namespace servicemanager::testing

#endif  // SERVICEMANAGER_TESTS_TESTING_FAULTY_RUNTIME_H_
