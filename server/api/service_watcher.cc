#include "api/service_watcher.h"

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "api/grpc_status.h"
#include "api/proto_convert.h"

namespace servicemanager::api {

grpc::ServerWriteReactor<v1::WatchServiceResponse>* ServiceWatcher::Start(
    CallRecord record, grpc::CallbackServerContext* context,
    absl::StatusOr<domain::ServiceRef> service, store::Store& store,
    ChangeHub& hub, const std::string& region) {
  auto watcher = std::make_shared<ServiceWatcher>(std::move(record), context,
                                                  store, hub, region);
  watcher->self_ = watcher;
  if (service.ok()) {
    watcher->Begin(*service);
  } else {
    watcher->Close(service.status());
  }
  return watcher.get();
}

ServiceWatcher::ServiceWatcher(CallRecord record,
                               grpc::CallbackServerContext* context,
                               store::Store& store, ChangeHub& hub,
                               const std::string& region)
    : record_(std::move(record)),
      context_(context),
      store_(store),
      hub_(hub),
      region_(region) {}

void ServiceWatcher::Begin(const domain::ServiceRef& service) {
  service_id_ = service.id;
  account_id_ = service.account_id;
  // Subscribe before reading, so no change after the read is missed; the
  // revision check drops what the read already showed.
  if (!hub_.SubscribeService(service_id_, weak_from_this())) {
    OnShutdown();
    return;
  }
  absl::StatusOr<domain::Service> current = store_.GetService(service);
  if (!current.ok()) {
    Close(current.status());
    return;
  }
  OnService(*current);
}

void ServiceWatcher::OnService(const domain::Service& service) {
  if (service.account_id != account_id_) {
    return;
  }
  Step step;
  {
    absl::MutexLock lock(&mu_);
    if (closing_ || service.revision <= last_revision_) {
      return;
    }
    last_revision_ = service.revision;
    if (queue_.size() >= kMaxQueued) {
      queue_.clear();
      closing_ = ToGrpcStatus(
          absl::ResourceExhaustedError(absl::StrCat(
              "the client fell more than ", kMaxQueued,
              " changes behind; watch again for the current state")),
          *context_);
    } else {
      ToProto(service, region_, queue_.emplace_back().mutable_service());
    }
    step = NextLocked();
  }
  Run(step);
}

void ServiceWatcher::OnShutdown() {
  Close(absl::UnavailableError(
      "the server is shutting down; watch again to resume"));
}

void ServiceWatcher::OnWriteDone(bool ok) {
  Step step;
  {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!ok) {
      queue_.clear();
      closing_ = closing_.value_or(
          grpc::Status(grpc::StatusCode::CANCELLED, "the stream broke"));
    } else if (in_flight_.service().status() == v1::DELETED) {
      // A deleted service changes no more.
      closing_ = closing_.value_or(grpc::Status::OK);
    }
    step = NextLocked();
  }
  Run(step);
}

void ServiceWatcher::OnCancel() {
  // Finishing may let OnDone run on another thread; stay alive until done.
  std::shared_ptr<ServiceWatcher> keep = weak_from_this().lock();
  if (keep != nullptr) {
    Close(absl::CancelledError("the call was cancelled"));
  }
}

void ServiceWatcher::OnDone() {
  record_.Done();
  hub_.UnsubscribeService(service_id_, this);
  // May destroy this watcher; nothing may touch it afterwards.
  std::shared_ptr<ServiceWatcher> self = std::move(self_);
}

void ServiceWatcher::Close(const absl::Status& status) {
  Step step;
  {
    absl::MutexLock lock(&mu_);
    if (!closing_) {
      closing_ = ToGrpcStatus(status, *context_);
    }
    queue_.clear();
    step = NextLocked();
  }
  Run(step);
}

ServiceWatcher::Step ServiceWatcher::NextLocked() {
  if (writing_ || finished_) {
    return {};
  }
  if (!queue_.empty()) {
    in_flight_ = std::move(queue_.front());
    queue_.pop_front();
    writing_ = true;
    return {.write = true, .finish = std::nullopt};
  }
  if (closing_) {
    finished_ = true;
    return {.write = false, .finish = *closing_};
  }
  return {};
}

void ServiceWatcher::Run(const Step& step) {
  if (step.write) {
    StartWrite(&in_flight_);
  }
  if (step.finish) {
    Finish(record_.Finishing(*step.finish));
  }
}

}  // namespace servicemanager::api
