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

struct Operation {
  std::string id;  // UUID v4.
  OperationType type = OperationType::kCreateService;
  OperationStatus status = OperationStatus::kPending;
  std::string service_id;
  std::string service_name;
  absl::Time started_at;
  absl::Time updated_at;
  std::optional<absl::Time> ended_at;
};

}  // namespace servicemanager::domain

#endif  // SERVICEMANAGER_SERVER_DOMAIN_OPERATION_H_
