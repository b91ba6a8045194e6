#include "domain/connection.h"

#include <optional>

#include "absl/strings/string_view.h"
#include "domain/enum_names.h"

namespace servicemanager::domain {
namespace {

constexpr EnumNames<ProviderType, 2> kProviderNames = {{
    {ProviderType::kGithub, "GITHUB"},
    {ProviderType::kBitbucket, "BITBUCKET"},
}};

constexpr EnumNames<ConnectionStatus, 4> kStatusNames = {{
    {ConnectionStatus::kPendingHandshake, "PENDING_HANDSHAKE"},
    {ConnectionStatus::kAvailable, "AVAILABLE"},
    {ConnectionStatus::kError, "ERROR"},
    {ConnectionStatus::kDeleted, "DELETED"},
}};

}  // namespace

absl::string_view ToString(ProviderType type) {
  return NameOf(kProviderNames, type);
}

absl::string_view ToString(ConnectionStatus status) {
  return NameOf(kStatusNames, status);
}

std::optional<ProviderType> ParseProviderType(absl::string_view text) {
  return ValueOf(kProviderNames, text);
}

std::optional<ConnectionStatus> ParseConnectionStatus(absl::string_view text) {
  return ValueOf(kStatusNames, text);
}

}  // namespace servicemanager::domain
