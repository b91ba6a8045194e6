#include "domain/operation.h"

#include <optional>

#include "absl/strings/string_view.h"
#include "domain/enum_names.h"

namespace servicemanager::domain {
namespace {

constexpr EnumNames<OperationType, 6> kTypes = {{
    {OperationType::kStartDeployment, "START_DEPLOYMENT"},
    {OperationType::kCreateService, "CREATE_SERVICE"},
    {OperationType::kPauseService, "PAUSE_SERVICE"},
    {OperationType::kResumeService, "RESUME_SERVICE"},
    {OperationType::kDeleteService, "DELETE_SERVICE"},
    {OperationType::kUpdateService, "UPDATE_SERVICE"},
}};

constexpr EnumNames<OperationStatus, 7> kStatuses = {{
    {OperationStatus::kPending, "PENDING"},
    {OperationStatus::kInProgress, "IN_PROGRESS"},
    {OperationStatus::kFailed, "FAILED"},
    {OperationStatus::kSucceeded, "SUCCEEDED"},
    {OperationStatus::kRollbackInProgress, "ROLLBACK_IN_PROGRESS"},
    {OperationStatus::kRollbackFailed, "ROLLBACK_FAILED"},
    {OperationStatus::kRollbackSucceeded, "ROLLBACK_SUCCEEDED"},
}};

}  // namespace

absl::string_view ToString(OperationType type) { return NameOf(kTypes, type); }
absl::string_view ToString(OperationStatus status) {
  return NameOf(kStatuses, status);
}
bool IsFinal(OperationStatus status) {
  return status != OperationStatus::kPending &&
         status != OperationStatus::kInProgress &&
         status != OperationStatus::kRollbackInProgress;
}

std::optional<OperationType> ParseOperationType(absl::string_view text) {
  return ValueOf(kTypes, text);
}
std::optional<OperationStatus> ParseOperationStatus(absl::string_view text) {
  return ValueOf(kStatuses, text);
}

}  // namespace servicemanager::domain
