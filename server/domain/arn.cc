#include "domain/arn.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
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

}  // namespace

std::string ServiceArn(absl::string_view region, absl::string_view account_id,
                       absl::string_view name, absl::string_view id) {
  return absl::StrCat("arn:aws:apprunner:", region, ":", account_id,
                      ":service/", name, "/", id);
}

absl::StatusOr<ServiceRef> ParseServiceArn(absl::string_view region,
                                           const AccountScope& scope,
                                           absl::string_view arn,
                                           absl::string_view field) {
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
                     "\" is not an App Runner ARN "
                     "(arn:aws:apprunner:REGION:ACCOUNT:service/NAME/ID)"));
  }
  std::vector<absl::string_view> resource = absl::StrSplit(parts[5], '/');
  if (parts[1] != "aws" || parts[2] != "apprunner" || parts[3] != region ||
      !scope.Covers(parts[4]) || resource.size() != 3 ||
      resource[0] != "service" || resource[2].size() != 32 ||
      !AllOf(resource[2], IsLowerHex)) {
    return absl::NotFoundError(
        absl::StrCat("no service with ARN ", arn, " in ", region));
  }
  return ServiceRef{std::string(parts[4]), std::string(resource[1]),
                    std::string(resource[2])};
}

}  // namespace servicemanager::domain
