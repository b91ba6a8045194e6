// The service state machine: which operation may start from which status, and
// where each operation leaves the service when it ends. Pure functions.
//
// A service runs at most one operation at a time: while it is
// OPERATION_IN_PROGRESS every mutating call is refused.
#ifndef SERVICEMANAGER_SERVER_DOMAIN_LIFECYCLE_H_
#define SERVICEMANAGER_SERVER_DOMAIN_LIFECYCLE_H_

#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "domain/operation.h"
#include "domain/service.h"

namespace servicemanager::domain {

// What an accepted operation will do to its service.
struct Transition {
  // The status the service shows when the operation succeeds.
  ServiceStatus on_success;
  // The status the service goes back to (or ends in) when it fails.
  ServiceStatus on_failure;
  // The operation's final status when it fails: FAILED where nothing can be
  // rolled back (create, delete), ROLLBACK_SUCCEEDED otherwise.
  OperationStatus failure_status;
};

// The transition of `type` started on a service in `current`, or
// FAILED_PRECONDITION naming the status when App Runner refuses it there.
// CREATE_SERVICE has no current status; use StartCreate().
absl::StatusOr<Transition> Start(OperationType type, ServiceStatus current);

// The transition of a new service's first deployment.
Transition StartCreate();

// What CancelOperation does to an operation, by the operation's status.
enum class CancelAction {
  kEndNow,              // PENDING: nothing ran yet; it ends FAILED at once.
  kRollBack,            // IN_PROGRESS: the worker rolls back what it did.
  kAlreadyRollingBack,  // ROLLBACK_IN_PROGRESS: a cancel is under way.
};

// The cancel of an operation in `status`, or FAILED_PRECONDITION once it has
// ended.
absl::StatusOr<CancelAction> Cancel(OperationStatus status);

// Where a cancelled operation leaves its service: the status it had before
// the operation (`prior`); a cancelled create, which has none, leaves
// CREATE_FAILED.
ServiceStatus CancelledStatus(std::optional<ServiceStatus> prior);

// Whether tags may change on a service in `current`: OK in every status but
// OPERATION_IN_PROGRESS and DELETED (FAILED_PRECONDITION).
absl::Status CheckCanTag(ServiceStatus current);

// Whether custom domains may be linked to or unlinked from a service in
// `current`: OK when RUNNING, CREATE_FAILED or DELETE_FAILED;
// FAILED_PRECONDITION when PAUSED (App Runner refuses domain changes on a
// paused service), OPERATION_IN_PROGRESS (one change at a time) or DELETED.
// `action` names the call in the message ("associate a custom domain").
absl::Status CheckCanChangeCustomDomains(ServiceStatus current,
                                         absl::string_view action);

}  // namespace servicemanager::domain

#endif  // SERVICEMANAGER_SERVER_DOMAIN_LIFECYCLE_H_
