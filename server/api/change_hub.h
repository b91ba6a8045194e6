// Fans the store's committed changes out to the calls that wait for them:
// WaitOperation by operation id, WatchService by service id. The store calls
// OnCommit in commit order; the hub hands each change to the listeners of that
// id at once, on the committing thread, so listeners must only queue work.
//
// Listeners are held weakly: one whose call has ended and not yet
// unsubscribed costs a map entry until the next change of its id.
// Thread-safe.
#ifndef SERVICEMANAGER_SERVER_API_CHANGE_HUB_H_
#define SERVICEMANAGER_SERVER_API_CHANGE_HUB_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "domain/operation.h"
#include "domain/service.h"
#include "store/store.h"

namespace servicemanager::api {

class ChangeHub final : public store::ChangeObserver {
 public:
  class OperationListener {
   public:
    virtual ~OperationListener() = default;
    virtual void OnOperation(const domain::Operation& operation) = 0;
    // The server is stopping: end the call now.
    virtual void OnShutdown() = 0;
  };
  class ServiceListener {
   public:
    virtual ~ServiceListener() = default;
    virtual void OnService(const domain::Service& service) = 0;
    virtual void OnShutdown() = 0;
  };

  // `on_operation_ended`, if set, is called with every operation that ends
  // on this replica, however it ends (metrics count them); not for a remote
  // change (store::Change::remote), which its own replica counts.
  explicit ChangeHub(std::function<void(const domain::Operation&)>
                         on_operation_ended = nullptr);

  // Subscriptions return false, subscribing nothing, once Shutdown() ran.
  bool SubscribeOperation(const std::string& operation_id,
                          std::weak_ptr<OperationListener> listener);
  void UnsubscribeOperation(const std::string& operation_id,
                            const OperationListener* listener);
  bool SubscribeService(const std::string& service_id,
                        std::weak_ptr<ServiceListener> listener);
  void UnsubscribeService(const std::string& service_id,
                          const ServiceListener* listener);

  void OnCommit(const store::Change& change) override;
  // True if a call here waits on the service or the operation.
  bool Watches(absl::string_view service_id,
               absl::string_view operation_id) const override;
  void OnRemoteWork() override;

  // Called by OnRemoteWork (the worker's Wake); nullptr for none.
  void SetRemoteWorkCallback(std::function<void()> callback);

  // Tells every listener the server is stopping, so that waits and watches
  // end before the server's grace period rather than at its end.
  void Shutdown();

  // Subscriptions held now, for tests and metrics.
  size_t operation_subscriptions() const;
  size_t service_subscriptions() const;

 private:
  template <typename Listener>
  using Registry =
      absl::flat_hash_map<std::string, std::vector<std::weak_ptr<Listener>>>;

  const std::function<void(const domain::Operation&)> on_operation_ended_;
  absl::Mutex remote_work_mu_;
  std::function<void()> on_remote_work_ ABSL_GUARDED_BY(remote_work_mu_);
  mutable absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  Registry<OperationListener> operations_ ABSL_GUARDED_BY(mu_);
  Registry<ServiceListener> services_ ABSL_GUARDED_BY(mu_);
};

}  // namespace servicemanager::api

#endif  // SERVICEMANAGER_SERVER_API_CHANGE_HUB_H_
