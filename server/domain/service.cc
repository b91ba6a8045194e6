#include "domain/service.h"

#include <optional>

#include "absl/strings/string_view.h"
#include "domain/enum_names.h"

namespace servicemanager::domain {
namespace {

constexpr EnumNames<ServiceStatus, 6> kNames = {{
    {ServiceStatus::kCreateFailed, "CREATE_FAILED"},
    {ServiceStatus::kRunning, "RUNNING"},
    {ServiceStatus::kDeleted, "DELETED"},
    {ServiceStatus::kDeleteFailed, "DELETE_FAILED"},
    {ServiceStatus::kPaused, "PAUSED"},
    {ServiceStatus::kOperationInProgress, "OPERATION_IN_PROGRESS"},
}};

}  // namespace

absl::string_view ToString(ServiceStatus status) {
  return NameOf(kNames, status);
}

std::optional<ServiceStatus> ParseServiceStatus(absl::string_view text) {
  return ValueOf(kNames, text);
}

ServiceConfig ConfigUpdate::ApplyTo(ServiceConfig config) const {
  if (source) {
    config.source = *source;
  }
  if (cpu) {
    config.instance.cpu = *cpu;
  }
  if (memory) {
    config.instance.memory = *memory;
  }
  if (health_check) {
    config.health_check = *health_check;
  }
  return config;
}

}  // namespace servicemanager::domain
