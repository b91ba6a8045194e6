#include "worker/operation_worker.h"

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "domain/lifecycle.h"

namespace servicemanager::worker {
namespace {

using domain::OperationType;

absl::Status RunCompute(runtime::Runtime& runtime, const store::Work& work) {
  const domain::Operation& op = work.operation;
  switch (op.type) {
    case OperationType::kCreateService:
    case OperationType::kUpdateService:
    case OperationType::kStartDeployment:
    case OperationType::kResumeService:
      if (!work.config || !work.image) {
        return absl::InternalError(
            "the operation has no configuration or image to deploy");
      }
      return runtime.Deploy(
          {op.service_id, *work.image, *work.config,
           /*refresh_image=*/op.type == OperationType::kStartDeployment});
    case OperationType::kPauseService:
      return runtime.Stop(op.service_id);
    case OperationType::kDeleteService:
      return runtime.Remove(op.service_id);
  }
  return absl::InternalError("unknown operation type");
}

// Puts back what ran before a cancelled operation: the prior version if the
// service was RUNNING, nothing running otherwise.
absl::Status RunRollback(runtime::Runtime& runtime, const store::Work& work) {
  const domain::Operation& op = work.operation;
  if (work.prior_status == domain::ServiceStatus::kRunning) {
    if (!work.config || !work.image) {
      return absl::InternalError(
          "the operation has no prior configuration or image to restore");
    }
    return runtime.Deploy({op.service_id, *work.image, *work.config});
  }
  if (op.type == OperationType::kCreateService) {
    return runtime.Remove(op.service_id);
  }
  return runtime.Stop(op.service_id);
}

// Renews the leases of a batch of claims every third of the lease, in a
// thread, until destroyed.
class LeaseRenewer {
 public:
  LeaseRenewer(store::Store& store, common::Clock& clock, absl::Duration lease,
               std::vector<std::string> operation_ids)
      : store_(store),
        clock_(clock),
        lease_(lease),
        operation_ids_(std::move(operation_ids)),
        thread_([this] { Loop(); }) {}
  ~LeaseRenewer() {
    {
      absl::MutexLock lock(&mu_);
      done_ = true;
    }
    thread_.join();
  }

 private:
  void Loop() {
    absl::MutexLock lock(&mu_);
    while (!mu_.AwaitWithTimeout(absl::Condition(&done_), lease_ / 3)) {
      const absl::Status renewed =
          store_.RenewLeases(operation_ids_, clock_.Now() + lease_);
      if (!renewed.ok()) {
        common::Log(common::LogLevel::kWarning,
                    absl::StrCat("worker: cannot renew the leases of ",
                                 operation_ids_.size(),
                                 " operations: ", renewed.ToString()));
      }
    }
  }

  store::Store& store_;
  common::Clock& clock_;
  const absl::Duration lease_;
  const std::vector<std::string> operation_ids_;
  absl::Mutex mu_;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace

OperationWorker::OperationWorker(store::Store& store, runtime::Runtime& runtime,
                                 common::Clock& clock, WorkerOptions options)
    : store_(store), runtime_(runtime), clock_(clock), options_(options) {}

OperationWorker::~OperationWorker() { Stop(); }

absl::StatusOr<int> OperationWorker::RunOnce() {
  ASSIGN_OR_RETURN(const int expired, store_.ExpireOperations(clock_.Now()));
  if (expired > 0) {
    common::Log(common::LogLevel::kWarning,
                absl::StrCat("worker: failed ", expired,
                             " operations past their deadline"));
  }
  ASSIGN_OR_RETURN(
      std::vector<store::Work> due,
      store_.TakeDueOperations(clock_.Now(), options_.compute_time,
                               options_.lease, options_.batch_size));
  if (due.empty()) {
    return 0;
  }
  std::vector<std::string> claimed;
  for (const store::Work& work : due) {
    claimed.push_back(work.operation.id);
  }
  std::optional<LeaseRenewer> renewer;
  renewer.emplace(store_, clock_, options_.lease, std::move(claimed));
  // The runtime calls first, then every result in one commit: a batch
  // shares one fsync.
  std::vector<store::Store::Finish> finishes;
  for (const store::Work& work : due) {
    if (Stopping()) {
      break;  // The rest stay due; the next start finishes them.
    }
    const domain::Operation& op = work.operation;
    if (work.attempt > options_.max_attempts) {
      finishes.push_back({op.id, op.status, false,
                          absl::StrCat("gave up after ", work.attempt - 1,
                                       " attempts: the replica running it "
                                       "stopped"),
                          work.attempt});
      continue;
    }
    const bool rollback =
        op.status == domain::OperationStatus::kRollbackInProgress;
    const absl::Status compute =
        rollback ? RunRollback(runtime_, work) : RunCompute(runtime_, work);
    finishes.push_back({op.id, op.status, compute.ok(),
                        std::string(compute.message()), work.attempt});
  }
  const std::vector<absl::Status> commits =
      store_.FinishOperations(finishes, clock_.Now());
  renewer.reset();
  int finished = 0;
  absl::Status first_error;
  for (size_t i = 0; i < finishes.size(); ++i) {
    const store::Store::Finish& finish = finishes[i];
    const domain::Operation& op = due[i].operation;
    if (absl::IsAborted(commits[i])) {
      // Cancelled while the runtime worked (it is due again, as a
      // rollback), or taken over by another replica after this one's lease
      // ran out: the result is dropped.
      common::Log(
          common::LogLevel::kInfo,
          absl::StrCat("operation ", op.id, ": ", commits[i].message()));
      continue;
    }
    if (!commits[i].ok()) {
      first_error.Update(commits[i]);
      continue;
    }
    ++finished;
    const bool rollback =
        finish.seen == domain::OperationStatus::kRollbackInProgress;
    common::Log(
        finish.succeeded ? common::LogLevel::kInfo : common::LogLevel::kWarning,
        absl::StrCat(
            "operation ", op.id, " ", domain::ToString(op.type), " of service ",
            op.service_id, ": ", rollback ? "rollback " : "",
            finish.succeeded ? "SUCCEEDED"
                             : absl::StrCat("failed: ", finish.error)));
  }
  RETURN_IF_ERROR(first_error);
  return finished;
}

absl::StatusOr<int> OperationWorker::Reconcile() {
  ASSIGN_OR_RETURN(const runtime::Inventory inventory, runtime_.List());
  std::map<std::string, domain::ServiceRef> live;
  std::map<std::string, domain::ServiceStatus> status;
  std::string token;
  do {
    ASSIGN_OR_RETURN(
        store::Page<domain::Service> page,
        store_.ListServices(domain::AccountScope{}, 100, token, std::nullopt));
    for (const domain::Service& service : page.items) {
      live[service.id] = {service.account_id, service.name, service.id};
      status[service.id] = service.status;
    }
    token = page.next_token;
  } while (!token.empty());

  int fixes = 0;
  absl::Status first_error;
  auto report = [&](const std::string& id, absl::string_view what,
                    const absl::Status& result) {
    if (result.ok()) {
      ++fixes;
      common::Log(common::LogLevel::kInfo,
                  absl::StrCat("reconcile: service ", id, ": ", what));
    } else {
      first_error.Update(result);
      common::Log(common::LogLevel::kWarning,
                  absl::StrCat("reconcile: service ", id, ": ", what,
                               " failed: ", result.message()));
    }
  };
  for (const auto& [id, ref] : live) {
    if (status[id] != domain::ServiceStatus::kRunning ||
        inventory.running.contains(id)) {
      continue;
    }
    absl::StatusOr<domain::Service> service = store_.GetService(ref);
    if (!service.ok()) {
      first_error.Update(service.status());
      continue;
    }
    if (!service->config || !service->deployed_image) {
      continue;
    }
    report(id,
           absl::StrCat("RUNNING with no compute up; deployed version ",
                        service->deployed_image->version, " again"),
           runtime_.Deploy({id, *service->deployed_image, *service->config}));
  }
  for (const std::string& id : inventory.held) {
    auto it = status.find(id);
    if (it == status.end()) {
      report(id, "held by the runtime but deleted or unknown; removed it",
             runtime_.Remove(id));
    } else if (inventory.running.contains(id) &&
               it->second != domain::ServiceStatus::kRunning &&
               it->second != domain::ServiceStatus::kOperationInProgress) {
      report(id,
             absl::StrCat("compute up while ", domain::ToString(it->second),
                          "; stopped it"),
             runtime_.Stop(id));
    }
  }
  RETURN_IF_ERROR(first_error);
  return fixes;
}

void OperationWorker::Start() {
  absl::StatusOr<int> open =
      store_.RecoverOperations(clock_.Now() + options_.compute_time);
  if (open.ok() && *open > 0) {
    common::Log(
        common::LogLevel::kInfo,
        absl::StrCat("worker: resuming ", *open, " unfinished operations"));
  } else if (!open.ok()) {
    common::Log(common::LogLevel::kError,
                absl::StrCat("worker: cannot recover operations: ",
                             open.status().ToString()));
  }
  absl::MutexLock lock(&mu_);
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void OperationWorker::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) {
    thread_.join();
  }
}

void OperationWorker::Wake() {
  absl::MutexLock lock(&mu_);
  woken_ = true;
}

void OperationWorker::Loop() {
  if (options_.reconcile_on_start) {
    absl::StatusOr<int> fixes = Reconcile();
    if (!fixes.ok()) {
      common::Log(common::LogLevel::kError,
                  absl::StrCat("reconcile: ", fixes.status().ToString()));
    } else {
      common::Log(common::LogLevel::kInfo,
                  absl::StrCat("reconcile: the runtime agrees with the "
                               "database after ",
                               *fixes, " fixes"));
    }
  }
  absl::Duration backoff = absl::Milliseconds(50);
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) {
        return;
      }
      woken_ = false;
    }
    absl::Duration wait = options_.poll_interval;
    absl::StatusOr<int> finished = RunOnce();
    if (!finished.ok()) {
      common::Log(
          common::LogLevel::kError,
          absl::StrCat("worker: ", finished.status().ToString(),
                       "; retrying in ", absl::FormatDuration(backoff)));
      wait = backoff;
      backoff = std::min(backoff * 2, absl::Seconds(5));
    } else {
      backoff = absl::Milliseconds(50);
      if (*finished == options_.batch_size) {
        continue;  // More may be due.
      }
      absl::StatusOr<std::optional<absl::Time>> next = store_.NextDueTime();
      if (!next.ok()) {
        wait = backoff;
      } else if (next->has_value()) {
        wait = std::clamp(**next - clock_.Now(), absl::ZeroDuration(), wait);
      }
    }
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(this, &OperationWorker::Woken), wait);
  }
}

}  // namespace servicemanager::worker
