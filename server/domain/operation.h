// Plain data of an asynchronous operation on a service.
#ifndef SERVICEMANAGER_SERVER_DOMAIN_OPERATION_H_
#define SERVICEMANAGER_SERVER_DOMAIN_OPERATION_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace servicemanager::domain {

enum class OperationType {
  kStartDeployment,
  kCreateService,
  kPauseService,
  kResumeService,
  kDeleteService,
  kUpdateService,
};

enum class OperationStatus {
  kPending,
  kInProgress,
  kFailed,
  kSucceeded,
  kRollbackInProgress,
  kRollbackFailed,
  kRollbackSucceeded,
};

// App Runner's own spellings, also used by the store.
absl::string_view ToString(OperationType type);
absl::string_view ToString(OperationStatus status);
std::optional<OperationType> ParseOperationType(absl::string_view text);
std::optional<OperationStatus> ParseOperationStatus(absl::string_view text);

// Whether an operation in `status` has ended: SUCCEEDED, FAILED,
// ROLLBACK_SUCCEEDED or ROLLBACK_FAILED.
bool IsFinal(OperationStatus status);

// Why an operation did not succeed (Operation::error_code).
inline constexpr absl::string_view kErrorRuntime = "RUNTIME_ERROR";
inline constexpr absl::string_view kErrorCancelled = "CANCELLED";
inline constexpr absl::string_view kErrorDeadlineExceeded = "DEADLINE_EXCEEDED";

struct Operation {
  std::string id;  // UUID v4.
  OperationType type = OperationType::kCreateService;
  OperationStatus status = OperationStatus::kPending;
  std::string service_id;
  std::string service_account_id;
  std::string service_name;
  absl::Time started_at;
  absl::Time updated_at;
  std::optional<absl::Time> ended_at;
  // When the worker fails the operation if it has not ended; absent once it
  // has.
  std::optional<absl::Time> deadline_at;
  // Set when the operation ended without success (or is being rolled back
  // because it was cancelled): one of the kError* codes, and why.
  std::string error_code;
  std::string error_message;
};

}  // namespace servicemanager::domain

#endif  // SERVICEMANAGER_SERVER_DOMAIN_OPERATION_H_
