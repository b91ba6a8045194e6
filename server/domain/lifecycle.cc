#include "domain/lifecycle.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace servicemanager::domain {
namespace {

absl::Status Refuse(OperationType type, ServiceStatus current,
                    absl::string_view why) {
  return absl::FailedPreconditionError(
      absl::StrCat("cannot start ", ToString(type), ": the service is ",
                   ToString(current), why));
}

}  // namespace

absl::StatusOr<Transition> Start(OperationType type, ServiceStatus current) {
  if (current == ServiceStatus::kOperationInProgress) {
    return Refuse(type, current,
                  "; one operation at a time, retry when it has finished");
  }
  if (current == ServiceStatus::kDeleted) {
    return Refuse(type, current, "");
  }
  switch (type) {
    case OperationType::kCreateService:
      break;
    case OperationType::kUpdateService:
      // App Runner's documented way out of CREATE_FAILED is an update.
      if (current == ServiceStatus::kRunning ||
          current == ServiceStatus::kCreateFailed) {
        return Transition{ServiceStatus::kRunning, current,
                          OperationStatus::kRollbackSucceeded};
      }
      return Refuse(type, current, "; resume it first");
    case OperationType::kStartDeployment:
      if (current == ServiceStatus::kRunning) {
        return Transition{ServiceStatus::kRunning, ServiceStatus::kRunning,
                          OperationStatus::kRollbackSucceeded};
      }
      return Refuse(type, current,
                    current == ServiceStatus::kPaused ? "; resume it first"
                                                      : "; it must be RUNNING");
    case OperationType::kPauseService:
      if (current == ServiceStatus::kRunning) {
        return Transition{ServiceStatus::kPaused, ServiceStatus::kRunning,
                          OperationStatus::kRollbackSucceeded};
      }
      return Refuse(type, current, "; only a RUNNING service can be paused");
    case OperationType::kResumeService:
      if (current == ServiceStatus::kPaused) {
        return Transition{ServiceStatus::kRunning, ServiceStatus::kPaused,
                          OperationStatus::kRollbackSucceeded};
      }
      return Refuse(type, current, "; only a PAUSED service can be resumed");
    case OperationType::kDeleteService:
      return Transition{ServiceStatus::kDeleted, ServiceStatus::kDeleteFailed,
                        OperationStatus::kFailed};
  }
  return Refuse(type, current, "");
}

Transition StartCreate() {
  return Transition{ServiceStatus::kRunning, ServiceStatus::kCreateFailed,
                    OperationStatus::kFailed};
}

absl::StatusOr<CancelAction> Cancel(OperationStatus status) {
  switch (status) {
    case OperationStatus::kPending:
      return CancelAction::kEndNow;
    case OperationStatus::kInProgress:
      return CancelAction::kRollBack;
    case OperationStatus::kRollbackInProgress:
      return CancelAction::kAlreadyRollingBack;
    default:
      return absl::FailedPreconditionError(
          absl::StrCat("cannot cancel the operation: it has already ended ",
                       ToString(status)));
  }
}

ServiceStatus CancelledStatus(std::optional<ServiceStatus> prior) {
  return prior.value_or(ServiceStatus::kCreateFailed);
}

absl::Status CheckCanTag(ServiceStatus current) {
  if (current == ServiceStatus::kOperationInProgress ||
      current == ServiceStatus::kDeleted) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot change tags: the service is ", ToString(current)));
  }
  return absl::OkStatus();
}

absl::Status CheckCanChangeCustomDomains(ServiceStatus current,
                                         absl::string_view action) {
  switch (current) {
    case ServiceStatus::kRunning:
    case ServiceStatus::kCreateFailed:
    case ServiceStatus::kDeleteFailed:
      return absl::OkStatus();
    case ServiceStatus::kPaused:
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot ", action, ": the service is PAUSED; resume it first"));
    case ServiceStatus::kOperationInProgress:
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot ", action,
          ": the service is OPERATION_IN_PROGRESS; retry when its operation "
          "has finished"));
    case ServiceStatus::kDeleted:
      break;
  }
  return absl::FailedPreconditionError(
      absl::StrCat("cannot ", action, ": the service is ", ToString(current)));
}

}  // namespace servicemanager::domain
