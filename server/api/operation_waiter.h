// WaitOperation: a unary call that finishes when its operation ends (told by
// the ChangeHub) or when its timeout passes (a gRPC alarm). No thread waits:
// a waiter is a reactor, a hub subscription and an alarm.
#ifndef SERVICEMANAGER_SERVER_API_OPERATION_WAITER_H_
#define SERVICEMANAGER_SERVER_API_OPERATION_WAITER_H_

#include <grpcpp/alarm.h>
#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "api/call_record.h"
#include "api/change_hub.h"
#include "domain/arn.h"
#include "domain/operation.h"
#include "servicemanager/v1/service_manager.pb.h"
#include "store/store.h"

namespace servicemanager::api {

// The longest a WaitOperation call waits.
inline constexpr absl::Duration kMaxWait = absl::Seconds(60);

class OperationWaiter final
    : public grpc::ServerUnaryReactor,
      public ChangeHub::OperationListener,
      public std::enable_shared_from_this<OperationWaiter> {
 public:
  // Starts serving the call; the waiter keeps itself alive until gRPC calls
  // OnDone. The store and hub must outlive every call.
  static grpc::ServerUnaryReactor* Start(
      CallRecord record, grpc::CallbackServerContext* context,
      const v1::WaitOperationRequest& request,
      v1::WaitOperationResponse* response, store::Store& store, ChangeHub& hub,
      const std::string& region, domain::AccountScope scope);

  OperationWaiter(CallRecord record, grpc::CallbackServerContext* context,
                  v1::WaitOperationResponse* response, store::Store& store,
                  ChangeHub& hub, const std::string& region,
                  domain::AccountScope scope, std::string operation_id);

  void OnOperation(const domain::Operation& operation) override;
  // Answers with the operation as it stands.
  void OnShutdown() override;
  void OnCancel() override;
  void OnDone() override;

 private:
  void Begin(absl::Duration wait);
  void OnTimeout();
  // Finishes the call with the operation or the error, once.
  void Complete(const absl::StatusOr<domain::Operation>& operation);

  CallRecord record_;
  grpc::CallbackServerContext* const context_;
  v1::WaitOperationResponse* const response_;
  store::Store& store_;
  ChangeHub& hub_;
  const std::string& region_;
  // Whose operations the caller may see.
  const domain::AccountScope scope_;
  const std::string operation_id_;
  grpc::Alarm alarm_;

  absl::Mutex mu_;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  // Holds the waiter alive from Start to OnDone.
  std::shared_ptr<OperationWaiter> self_;
};

}  // namespace servicemanager::api

#endif  // SERVICEMANAGER_SERVER_API_OPERATION_WAITER_H_
