#include "api/change_hub.h"

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace servicemanager::api {
namespace {

template <typename Listener, typename Registry>
void Remove(Registry& registry, const std::string& id,
            const Listener* listener) {
  auto it = registry.find(id);
  if (it == registry.end()) {
    return;
  }
  std::vector<std::weak_ptr<Listener>>& listeners = it->second;
  std::erase_if(listeners, [listener](const std::weak_ptr<Listener>& weak) {
    const std::shared_ptr<Listener> strong = weak.lock();
    return strong == nullptr || strong.get() == listener;
  });
  if (listeners.empty()) {
    registry.erase(it);
  }
}

// The live listeners of `id`. When `last` (the id will not change again),
// the entry goes too.
template <typename Listener, typename Registry>
std::vector<std::shared_ptr<Listener>> Take(Registry& registry,
                                            const std::string& id, bool last) {
  std::vector<std::shared_ptr<Listener>> live;
  auto it = registry.find(id);
  if (it == registry.end()) {
    return live;
  }
  for (const std::weak_ptr<Listener>& weak : it->second) {
    if (std::shared_ptr<Listener> strong = weak.lock()) {
      live.push_back(std::move(strong));
    }
  }
  if (last || live.empty()) {
    registry.erase(it);
  }
  return live;
}

size_t Count(const auto& registry) {
  size_t count = 0;
  for (const auto& [id, listeners] : registry) {
    count += listeners.size();
  }
  return count;
}

}  // namespace

ChangeHub::ChangeHub(
    std::function<void(const domain::Operation&)> on_operation_ended)
    : on_operation_ended_(std::move(on_operation_ended)) {}

bool ChangeHub::SubscribeOperation(const std::string& operation_id,
                                   std::weak_ptr<OperationListener> listener) {
  absl::MutexLock lock(&mu_);
  if (shut_down_) {
    return false;
  }
  operations_[operation_id].push_back(std::move(listener));
  return true;
}

void ChangeHub::UnsubscribeOperation(const std::string& operation_id,
                                     const OperationListener* listener) {
  absl::MutexLock lock(&mu_);
  Remove(operations_, operation_id, listener);
}

bool ChangeHub::SubscribeService(const std::string& service_id,
                                 std::weak_ptr<ServiceListener> listener) {
  absl::MutexLock lock(&mu_);
  if (shut_down_) {
    return false;
  }
  services_[service_id].push_back(std::move(listener));
  return true;
}

void ChangeHub::UnsubscribeService(const std::string& service_id,
                                   const ServiceListener* listener) {
  absl::MutexLock lock(&mu_);
  Remove(services_, service_id, listener);
}

void ChangeHub::OnCommit(const store::Change& change) {
  std::vector<std::shared_ptr<OperationListener>> operation_listeners;
  std::vector<std::shared_ptr<ServiceListener>> service_listeners;
  {
    absl::MutexLock lock(&mu_);
    if (change.operation) {
      operation_listeners =
          Take<OperationListener>(operations_, change.operation->id,
                                  domain::IsFinal(change.operation->status));
    }
    if (change.service) {
      service_listeners = Take<ServiceListener>(
          services_, change.service->id,
          change.service->status == domain::ServiceStatus::kDeleted);
    }
  }
  if (on_operation_ended_ && !change.remote && change.operation &&
      domain::IsFinal(change.operation->status)) {
    on_operation_ended_(*change.operation);
  }
  // Outside the lock: a listener may subscribe or unsubscribe from here.
  for (const auto& listener : operation_listeners) {
    listener->OnOperation(*change.operation);
  }
  for (const auto& listener : service_listeners) {
    listener->OnService(*change.service);
  }
}

bool ChangeHub::Watches(absl::string_view service_id,
                        absl::string_view operation_id) const {
  absl::MutexLock lock(&mu_);
  return services_.contains(service_id) || operations_.contains(operation_id);
}

void ChangeHub::OnRemoteWork() {
  absl::MutexLock lock(&remote_work_mu_);
  if (on_remote_work_) {
    on_remote_work_();
  }
}

void ChangeHub::SetRemoteWorkCallback(std::function<void()> callback) {
  absl::MutexLock lock(&remote_work_mu_);
  on_remote_work_ = std::move(callback);
}

void ChangeHub::Shutdown() {
  std::vector<std::shared_ptr<OperationListener>> operation_listeners;
  std::vector<std::shared_ptr<ServiceListener>> service_listeners;
  {
    absl::MutexLock lock(&mu_);
    shut_down_ = true;
    for (auto& [id, listeners] : operations_) {
      for (const auto& weak : listeners) {
        if (auto strong = weak.lock()) {
          operation_listeners.push_back(std::move(strong));
        }
      }
    }
    for (auto& [id, listeners] : services_) {
      for (const auto& weak : listeners) {
        if (auto strong = weak.lock()) {
          service_listeners.push_back(std::move(strong));
        }
      }
    }
    operations_.clear();
    services_.clear();
  }
  for (const auto& listener : operation_listeners) {
    listener->OnShutdown();
  }
  for (const auto& listener : service_listeners) {
    listener->OnShutdown();
  }
}

size_t ChangeHub::operation_subscriptions() const {
  absl::MutexLock lock(&mu_);
  return Count(operations_);
}

size_t ChangeHub::service_subscriptions() const {
  absl::MutexLock lock(&mu_);
  return Count(services_);
}

}  // namespace servicemanager::api
