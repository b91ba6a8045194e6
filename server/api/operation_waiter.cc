#include "api/operation_waiter.h"

#include <grpcpp/alarm.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "api/grpc_status.h"
#include "api/proto_convert.h"
#include "domain/validation.h"

namespace servicemanager::api {
namespace {

// Answer this long before the call's deadline, so the caller gets the
// operation rather than DEADLINE_EXCEEDED.
constexpr absl::Duration kDeadlineMargin = absl::Milliseconds(100);

absl::StatusOr<absl::Duration> WaitFor(const v1::WaitOperationRequest& request,
                                       const grpc::ServerContextBase& context) {
  absl::Duration wait = kMaxWait;
  if (request.has_timeout()) {
    const google::protobuf::Duration& timeout = request.timeout();
    if (timeout.seconds() < 0 || timeout.nanos() < 0) {
      return absl::InvalidArgumentError("timeout: must not be negative");
    }
    if (timeout.nanos() > 999999999) {
      return absl::InvalidArgumentError(
          "timeout.nanos: must be at most 999999999");
    }
    wait = std::min(wait, absl::Seconds(timeout.seconds()) +
                              absl::Nanoseconds(timeout.nanos()));
  }
  const absl::Time deadline = absl::FromChrono(context.deadline());
  if (deadline != absl::InfiniteFuture()) {
    wait = std::min(wait, deadline - kDeadlineMargin - absl::Now());
  }
  return std::max(wait, absl::ZeroDuration());
}

}  // namespace

grpc::ServerUnaryReactor* OperationWaiter::Start(
    CallRecord record, grpc::CallbackServerContext* context,
    const v1::WaitOperationRequest& request,
    v1::WaitOperationResponse* response, store::Store& store, ChangeHub& hub,
    const std::string& region, domain::AccountScope scope) {
  auto waiter = std::make_shared<OperationWaiter>(
      std::move(record), context, response, store, hub, region,
      std::move(scope), request.operation_id());
  waiter->self_ = waiter;
  absl::Status valid = domain::ValidateOperationId(request.operation_id());
  absl::StatusOr<absl::Duration> wait = WaitFor(request, *context);
  if (!valid.ok() || !wait.ok()) {
    waiter->Complete(valid.ok() ? wait.status() : valid);
  } else {
    waiter->Begin(*wait);
  }
  return waiter.get();
}

OperationWaiter::OperationWaiter(CallRecord record,
                                 grpc::CallbackServerContext* context,
                                 v1::WaitOperationResponse* response,
                                 store::Store& store, ChangeHub& hub,
                                 const std::string& region,
                                 domain::AccountScope scope,
                                 std::string operation_id)
    : record_(std::move(record)),
      context_(context),
      response_(response),
      store_(store),
      hub_(hub),
      region_(region),
      scope_(std::move(scope)),
      operation_id_(std::move(operation_id)) {}

void OperationWaiter::Begin(absl::Duration wait) {
  // Subscribe before reading, so an end committed after the read is heard.
  const bool subscribed =
      hub_.SubscribeOperation(operation_id_, weak_from_this());
  absl::StatusOr<domain::Operation> operation =
      store_.GetOperation(scope_, operation_id_);
  if (!subscribed || !operation.ok() || domain::IsFinal(operation->status) ||
      wait <= absl::ZeroDuration()) {
    Complete(operation);
    return;
  }
  std::weak_ptr<OperationWaiter> weak = weak_from_this();
  alarm_.Set(absl::ToChronoTime(absl::Now() + wait), [weak](bool fired) {
    if (std::shared_ptr<OperationWaiter> waiter = weak.lock();
        fired && waiter != nullptr) {
      waiter->OnTimeout();
    }
  });
}

void OperationWaiter::OnOperation(const domain::Operation& operation) {
  if (scope_.Covers(operation.service_account_id) &&
      domain::IsFinal(operation.status)) {
    Complete(operation);
    alarm_.Cancel();
  }
}

void OperationWaiter::OnShutdown() {
  Complete(store_.GetOperation(scope_, operation_id_));
  alarm_.Cancel();
}

void OperationWaiter::OnTimeout() {
  Complete(store_.GetOperation(scope_, operation_id_));
}

void OperationWaiter::OnCancel() {
  // Finishing may let OnDone run on another thread; stay alive until done.
  std::shared_ptr<OperationWaiter> keep = weak_from_this().lock();
  if (keep == nullptr) {
    return;
  }
  Complete(absl::CancelledError("the call was cancelled"));
  alarm_.Cancel();
}

void OperationWaiter::OnDone() {
  record_.Done();
  hub_.UnsubscribeOperation(operation_id_, this);
  // May destroy this waiter; nothing may touch it afterwards.
  std::shared_ptr<OperationWaiter> self = std::move(self_);
}

void OperationWaiter::Complete(
    const absl::StatusOr<domain::Operation>& operation) {
  {
    absl::MutexLock lock(&mu_);
    if (finished_) {
      return;
    }
    finished_ = true;
  }
  if (!operation.ok()) {
    Finish(record_.Finishing(ToGrpcStatus(operation.status(), *context_)));
    return;
  }
  ToProto(*operation, region_, response_->mutable_operation());
  response_->set_done(domain::IsFinal(operation->status));
  Finish(record_.Finishing(grpc::Status::OK));
}

}  // namespace servicemanager::api
