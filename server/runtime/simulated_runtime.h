// A Runtime that keeps its compute and image copies in memory: the default,
// so the server runs anywhere with no other service. Thread-safe.
#ifndef SERVICEMANAGER_SERVER_RUNTIME_SIMULATED_RUNTIME_H_
#define SERVICEMANAGER_SERVER_RUNTIME_SIMULATED_RUNTIME_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "runtime/runtime.h"

namespace servicemanager::runtime {

class SimulatedRuntime final : public Runtime {
 public:
  // The compute of one service.
  struct Instance {
    domain::ImageVersion image;
    domain::ServiceConfig config;
    // Ephemeral storage: what the service wrote while it ran.
    std::map<std::string, std::string> scratch;
  };

  absl::Status Deploy(const Deployment& deployment) override;
  absl::Status Stop(absl::string_view service_id) override;
  absl::Status Remove(absl::string_view service_id) override;
  absl::StatusOr<Inventory> List() override;

  // Inspection, for tests and logs.
  std::optional<Instance> Find(absl::string_view service_id) const;
  std::set<int64_t> ImageCopies(absl::string_view service_id) const;
  // Writes to a running instance's ephemeral storage; false if none runs.
  bool WriteScratch(absl::string_view service_id, const std::string& key,
                    const std::string& value);

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, Instance, std::less<>> instances_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::set<int64_t>, std::less<>> images_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace servicemanager::runtime

#endif  // SERVICEMANAGER_SERVER_RUNTIME_SIMULATED_RUNTIME_H_
