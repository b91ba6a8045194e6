// WatchService: a server stream of the service, first as it stands, then
// after each change the store commits, in order, until it is DELETED.
//
// Changes queue per watcher and are written one at a time; nothing waits on
// the client. A watcher whose client falls more than kMaxQueued changes
// behind ends with RESOURCE_EXHAUSTED (watch again to catch up), so a slow
// reader costs bounded memory and never slows the worker or other watchers.
#ifndef SERVICEMANAGER_SERVER_API_SERVICE_WATCHER_H_
#define SERVICEMANAGER_SERVER_API_SERVICE_WATCHER_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "api/call_record.h"
#include "api/change_hub.h"
#include "domain/arn.h"
#include "domain/service.h"
#include "servicemanager/v1/service_manager.pb.h"
#include "store/store.h"

namespace servicemanager::api {

class ServiceWatcher final
    : public grpc::ServerWriteReactor<v1::WatchServiceResponse>,
      public ChangeHub::ServiceListener,
      public std::enable_shared_from_this<ServiceWatcher> {
 public:
  static constexpr int kMaxQueued = 256;

  // Starts serving the call; the watcher keeps itself alive until gRPC calls
  // OnDone. The store and hub must outlive every call.
  static grpc::ServerWriteReactor<v1::WatchServiceResponse>* Start(
      CallRecord record, grpc::CallbackServerContext* context,
      absl::StatusOr<domain::ServiceRef> service, store::Store& store,
      ChangeHub& hub, const std::string& region);

  ServiceWatcher(CallRecord record, grpc::CallbackServerContext* context,
                 store::Store& store, ChangeHub& hub,
                 const std::string& region);

  void OnService(const domain::Service& service) override;
  // Ends the stream with UNAVAILABLE: watch again on another server.
  void OnShutdown() override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  void Begin(const domain::ServiceRef& service);
  // Ends the stream with `status` once the write in flight, if any, is done.
  void Close(const absl::Status& status);
  // Under mu_: writes the next queued change or finishes a closed stream.
  // Returns what to do once mu_ is released.
  struct Step {
    bool write = false;
    std::optional<grpc::Status> finish;
  };
  Step NextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Run(const Step& step);

  CallRecord record_;
  grpc::CallbackServerContext* const context_;
  store::Store& store_;
  ChangeHub& hub_;
  const std::string& region_;
  std::string service_id_;
  // The watched service's account: changes of a service of another account
  // (whatever its id) are never shown.
  std::string account_id_;

  absl::Mutex mu_;
  std::deque<v1::WatchServiceResponse> queue_ ABSL_GUARDED_BY(mu_);
  // The newest revision queued: older or equal snapshots are not news.
  int64_t last_revision_ ABSL_GUARDED_BY(mu_) = 0;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  // Written only while no write is in flight.
  v1::WatchServiceResponse in_flight_;
  // Set once the stream is to end: nothing more is queued.
  std::optional<grpc::Status> closing_ ABSL_GUARDED_BY(mu_);
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  // Holds the watcher alive from Start to OnDone.
  std::shared_ptr<ServiceWatcher> self_;
};

}  // namespace servicemanager::api

#endif  // SERVICEMANAGER_SERVER_API_SERVICE_WATCHER_H_
