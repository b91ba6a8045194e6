#include "domain/service.h"

#include <optional>

#include "absl/strings/str_cat.h"
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

std::string Etag(const Service& service) {
  // The id keeps an etag of one service from matching another's.
  return absl::StrCat(service.revision, "-", service.id.substr(0, 8));
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
