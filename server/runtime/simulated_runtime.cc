#include "runtime/simulated_runtime.h"

#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace servicemanager::runtime {

absl::Status SimulatedRuntime::Deploy(const Deployment& deployment) {
  absl::MutexLock lock(&mu_);
  images_[deployment.service_id].insert(deployment.image.version);
  instances_[deployment.service_id] =
      Instance{deployment.image, deployment.config, {}};
  return absl::OkStatus();
}

absl::Status SimulatedRuntime::Stop(absl::string_view service_id) {
  absl::MutexLock lock(&mu_);
  if (auto it = instances_.find(service_id); it != instances_.end()) {
    instances_.erase(it);
  }
  return absl::OkStatus();
}

absl::Status SimulatedRuntime::Remove(absl::string_view service_id) {
  absl::MutexLock lock(&mu_);
  if (auto it = instances_.find(service_id); it != instances_.end()) {
    instances_.erase(it);
  }
  if (auto it = images_.find(service_id); it != images_.end()) {
    images_.erase(it);
  }
  return absl::OkStatus();
}

absl::StatusOr<Inventory> SimulatedRuntime::List() {
  absl::MutexLock lock(&mu_);
  Inventory inventory;
  for (const auto& [id, instance] : instances_) {
    inventory.running.insert(id);
    inventory.held.insert(id);
  }
  for (const auto& [id, versions] : images_) {
    inventory.held.insert(id);
  }
  return inventory;
}

std::optional<SimulatedRuntime::Instance> SimulatedRuntime::Find(
    absl::string_view service_id) const {
  absl::MutexLock lock(&mu_);
  if (auto it = instances_.find(service_id); it != instances_.end()) {
    return it->second;
  }
  return std::nullopt;
}

std::set<int64_t> SimulatedRuntime::ImageCopies(
    absl::string_view service_id) const {
  absl::MutexLock lock(&mu_);
  if (auto it = images_.find(service_id); it != images_.end()) {
    return it->second;
  }
  return {};
}

bool SimulatedRuntime::WriteScratch(absl::string_view service_id,
                                    const std::string& key,
                                    const std::string& value) {
  absl::MutexLock lock(&mu_);
  auto it = instances_.find(service_id);
  if (it == instances_.end()) {
    return false;
  }
  it->second.scratch[key] = value;
  return true;
}

}  // namespace servicemanager::runtime
