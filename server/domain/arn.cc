#include "domain/arn.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace servicemanager::domain {
namespace {

bool IsWordChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_';
}

bool AllOf(absl::string_view text, bool (*pred)(char)) {
  for (char c : text) {
    if (!pred(c)) {
      return false;
    }
  }
  return true;
}

bool IsLabelChar(char c) {
  return absl::ascii_islower(static_cast<unsigned char>(c)) ||
         absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '-' ||
         c == '.';
}

bool IsResourceChar(char c) { return IsWordChar(c) || c == '/' || c == '-'; }

bool IsDigit(char c) {
  return absl::ascii_isdigit(static_cast<unsigned char>(c));
}

bool IsLowerHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f'); }

// aws(-\w+)*
bool IsPartition(absl::string_view text) {
  if (text == "aws") {
    return true;
  }
  if (text.substr(0, 4) != "aws-") {
    return false;
  }
  for (absl::string_view segment : absl::StrSplit(text.substr(4), '-')) {
    if (segment.empty() || !AllOf(segment, IsWordChar)) {
      return false;
    }
  }
  return true;
}

// The six parts of an ARN of App Runner's pattern, or INVALID_ARGUMENT naming
// `field`; `shape` shows the expected ARN in the message.
absl::StatusOr<std::vector<absl::string_view>> SplitArn(
    absl::string_view arn, absl::string_view field, absl::string_view shape) {
  if (arn.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": is required"));
  }
  if (arn.size() > 1011) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": must be at most 1011 characters long"));
  }
  std::vector<absl::string_view> parts = absl::StrSplit(arn, ':');
  if (parts.size() != 6 || parts[0] != "arn" || !IsPartition(parts[1]) ||
      parts[2].size() > 63 || !AllOf(parts[2], IsLabelChar) ||
      parts[3].size() > 63 || !AllOf(parts[3], IsLabelChar) ||
      parts[4].size() != 12 || !AllOf(parts[4], IsDigit) || parts[5].empty() ||
      !AllOf(parts[5], IsResourceChar)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": \"", arn.substr(0, 100),
                     "\" is not an App Runner ARN (", shape, ")"));
  }
  return parts;
}

// The NAME and ID of "TYPE/NAME/ID" (ID: 32 lowercase hex) if the ARN's
// parts are of `type` in `region` and `scope`.
std::optional<std::pair<std::string, std::string>> ResourceIn(
    absl::string_view region, const AccountScope& scope,
    const std::vector<absl::string_view>& parts, absl::string_view type) {
  std::vector<absl::string_view> resource = absl::StrSplit(parts[5], '/');
  if (parts[1] != "aws" || parts[2] != "apprunner" || parts[3] != region ||
      !scope.Covers(parts[4]) || resource.size() != 3 || resource[0] != type ||
      resource[2].size() != 32 || !AllOf(resource[2], IsLowerHex)) {
    return std::nullopt;
  }
  return std::pair{std::string(resource[1]), std::string(resource[2])};
}

}  // namespace

std::string ServiceArn(absl::string_view region, absl::string_view account_id,
                       absl::string_view name, absl::string_view id) {
  return absl::StrCat("arn:aws:apprunner:", region, ":", account_id,
                      ":service/", name, "/", id);
}

std::string ConnectionArn(absl::string_view region, const ConnectionRef& ref) {
  return absl::StrCat("arn:aws:apprunner:", region, ":", ref.account_id,
                      ":connection/", ref.name, "/", ref.id);
}

absl::StatusOr<ServiceRef> ParseServiceArn(absl::string_view region,
                                           const AccountScope& scope,
                                           absl::string_view arn,
                                           absl::string_view field) {
  absl::StatusOr<std::vector<absl::string_view>> parts =
      SplitArn(arn, field, "arn:aws:apprunner:REGION:ACCOUNT:service/NAME/ID");
  if (!parts.ok()) {
    return parts.status();
  }
  auto resource = ResourceIn(region, scope, *parts, "service");
  if (!resource) {
    return absl::NotFoundError(
        absl::StrCat("no service with ARN ", arn, " in ", region));
  }
  return ServiceRef{std::string((*parts)[4]), resource->first,
                    resource->second};
}

absl::StatusOr<ConnectionRef> ParseConnectionArn(absl::string_view region,
                                                 const AccountScope& scope,
                                                 absl::string_view arn,
                                                 absl::string_view field) {
  absl::StatusOr<std::vector<absl::string_view>> parts = SplitArn(
      arn, field, "arn:aws:apprunner:REGION:ACCOUNT:connection/NAME/ID");
  if (!parts.ok()) {
    return parts.status();
  }
  auto resource = ResourceIn(region, scope, *parts, "connection");
  if (!resource) {
    return absl::NotFoundError(
        absl::StrCat("no connection with ARN ", arn, " in ", region));
  }
  return ConnectionRef{std::string((*parts)[4]), resource->first,
                       resource->second};
}

bool IsConnectionArn(absl::string_view arn) {
  std::vector<absl::string_view> parts = absl::StrSplit(arn, ':');
  return parts.size() == 6 && absl::StartsWith(parts[5], "connection/");
}

}  // namespace servicemanager::domain
