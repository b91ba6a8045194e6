#include "domain/validation.h"

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace servicemanager::domain {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", problem));
}

bool IsNameChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' ||
         c == '_';
}

bool AllDigits(absl::string_view text) {
  for (char c : text) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

bool HasControlOrSpace(absl::string_view text) {
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || u == ' ') {
      return true;
    }
  }
  return false;
}

// Accepts either form App Runner accepts ("1024" or "1 vCPU") and returns the
// number form.
std::optional<std::string> Canonical(
    absl::string_view value,
    const std::vector<std::pair<absl::string_view, absl::string_view>>& table) {
  absl::string_view stripped = absl::StripAsciiWhitespace(value);
  for (const auto& [number, with_unit] : table) {
    if (stripped == number || stripped == with_unit) {
      return std::string(number);
    }
  }
  return std::nullopt;
}

}  // namespace

absl::Status ValidateServiceName(absl::string_view name) {
  if (name.size() < 4 || name.size() > 40) {
    return Invalid("service_name", "must be 4 to 40 characters long");
  }
  if (!absl::ascii_isalnum(static_cast<unsigned char>(name[0]))) {
    return Invalid("service_name", "must start with a letter or digit");
  }
  for (char c : name) {
    if (!IsNameChar(c)) {
      return Invalid("service_name",
                     "may only contain letters, digits, '-' and '_'");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateConnectionName(absl::string_view name,
                                    absl::string_view field) {
  if (name.size() < 4 || name.size() > 32) {
    return Invalid(field, "must be 4 to 32 characters long");
  }
  if (!absl::ascii_isalnum(static_cast<unsigned char>(name[0]))) {
    return Invalid(field, "must start with a letter or digit");
  }
  for (char c : name) {
    if (!IsNameChar(c)) {
      return Invalid(field, "may only contain letters, digits, '-' and '_'");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> CanonicalDomainName(absl::string_view name,
                                                absl::string_view field) {
  const auto invalid = [&](absl::string_view problem) {
    return Invalid(field,
                   absl::StrCat("\"", name.substr(0, 100),
                                "\" is not a valid DNS name: ", problem));
  };
  if (name.empty()) {
    return Invalid(field, "is required");
  }
  if (name.size() > 253) {
    return invalid("it is longer than 253 characters");
  }
  absl::string_view rest = name;
  if (absl::ConsumePrefix(&rest, "*.") && rest.empty()) {
    return invalid("a wildcard needs a domain after \"*.\"");
  }
  std::vector<absl::string_view> labels = absl::StrSplit(rest, '.');
  if (labels.size() < 2) {
    return invalid("it needs at least two labels, as in example.com");
  }
  for (absl::string_view label : labels) {
    if (label.empty() || label.size() > 63) {
      return invalid("each label between dots is 1 to 63 characters long");
    }
    if (label.front() == '-' || label.back() == '-') {
      return invalid("a label may not start or end with '-'");
    }
    for (char c : label) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-') {
        return invalid("a label holds only letters, digits and '-'");
      }
    }
  }
  return absl::AsciiStrToLower(name);
}

absl::Status ValidateImageIdentifier(absl::string_view identifier,
                                     absl::string_view field) {
  if (identifier.empty()) {
    return Invalid(field, "is required");
  }
  if (identifier.size() > 1024) {
    return Invalid(field, "must be at most 1024 characters long");
  }
  if (HasControlOrSpace(identifier)) {
    return Invalid(field, "must not contain spaces or control characters");
  }
  return absl::OkStatus();
}

absl::Status ValidateSourceConfiguration(const SourceConfiguration& source,
                                         absl::string_view field) {
  const std::string repo = absl::StrCat(field, ".image_repository");
  if (absl::Status s = ValidateImageIdentifier(
          source.image_identifier, absl::StrCat(repo, ".image_identifier"));
      !s.ok()) {
    return s;
  }
  const ImageConfiguration& image = source.image_configuration;
  const std::string image_field = absl::StrCat(repo, ".image_configuration");
  // Digits only: SimpleAtoi alone would take " +80 " and keep it so.
  int port = 0;
  if (image.port.empty() || image.port.size() > 5 || !AllDigits(image.port) ||
      !absl::SimpleAtoi(image.port, &port) || port < 1 || port > 65535) {
    return Invalid(absl::StrCat(image_field, ".port"),
                   "must be a number from 1 to 65535");
  }
  if (image.start_command.size() > 51200) {
    return Invalid(absl::StrCat(image_field, ".start_command"),
                   "must be at most 51200 characters long");
  }
  if (absl::StrContains(image.start_command, '\n') ||
      absl::StrContains(image.start_command, '\r')) {
    return Invalid(absl::StrCat(image_field, ".start_command"),
                   "must not contain line breaks");
  }
  for (const auto* vars : {&image.runtime_environment_variables,
                           &image.runtime_environment_secrets}) {
    const std::string vars_field =
        absl::StrCat(image_field, vars == &image.runtime_environment_variables
                                      ? ".runtime_environment_variables"
                                      : ".runtime_environment_secrets");
    if (vars->size() > kMaxEnvironmentVariables) {
      return Invalid(
          vars_field,
          absl::StrCat("at most ", kMaxEnvironmentVariables, " are allowed"));
    }
    for (const auto& [name, value] : *vars) {
      if (name.empty() || name.size() > 256) {
        return Invalid(vars_field, "names must be 1 to 256 characters long");
      }
      if (absl::StartsWith(name, "AWSAPPRUNNER")) {
        return Invalid(vars_field,
                       "names starting with AWSAPPRUNNER are "
                       "reserved");
      }
      if (value.size() > 51200) {
        return Invalid(vars_field, "values must be at most 51200 characters");
      }
    }
  }
  return absl::OkStatus();
}

absl::Status CanonicalizeInstanceConfiguration(InstanceConfiguration& instance,
                                               absl::string_view field) {
  static const std::vector<std::pair<absl::string_view, absl::string_view>>
      kCpu = {{"256", "0.25 vCPU"},
              {"512", "0.5 vCPU"},
              {"1024", "1 vCPU"},
              {"2048", "2 vCPU"},
              {"4096", "4 vCPU"}};
  static const std::vector<std::pair<absl::string_view, absl::string_view>>
      kMemory = {{"512", "0.5 GB"}, {"1024", "1 GB"},   {"2048", "2 GB"},
                 {"3072", "3 GB"},  {"4096", "4 GB"},   {"6144", "6 GB"},
                 {"8192", "8 GB"},  {"10240", "10 GB"}, {"12288", "12 GB"}};
  std::optional<std::string> cpu = Canonical(instance.cpu, kCpu);
  if (!cpu) {
    return Invalid(absl::StrCat(field, ".cpu"),
                   "must be one of 256|512|1024|2048|4096 or "
                   "(0.25|0.5|1|2|4) vCPU");
  }
  std::optional<std::string> memory = Canonical(instance.memory, kMemory);
  if (!memory) {
    return Invalid(absl::StrCat(field, ".memory"),
                   "must be one of 512|1024|2048|3072|4096|6144|8192|10240|"
                   "12288 or (0.5|1|2|3|4|6|8|10|12) GB");
  }
  instance.cpu = *std::move(cpu);
  instance.memory = *std::move(memory);
  return absl::OkStatus();
}

absl::Status ValidateHealthCheckConfiguration(
    const HealthCheckConfiguration& health, absl::string_view field) {
  if (health.path.empty() || health.path.size() > 2048 ||
      HasControlOrSpace(health.path)) {
    return Invalid(absl::StrCat(field, ".path"),
                   "must be 1 to 2048 characters with no spaces");
  }
  const std::pair<absl::string_view, int> kRanged[] = {
      {"interval", health.interval},
      {"timeout", health.timeout},
      {"healthy_threshold", health.healthy_threshold},
      {"unhealthy_threshold", health.unhealthy_threshold}};
  for (const auto& [name, value] : kRanged) {
    if (value < 1 || value > 20) {
      return Invalid(absl::StrCat(field, ".", name), "must be from 1 to 20");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateTagKeys(const std::vector<std::string>& keys,
                             absl::string_view field) {
  if (keys.size() > kMaxTagsPerResource) {
    return Invalid(field, absl::StrCat("at most ", kMaxTagsPerResource,
                                       " tags are allowed"));
  }
  std::set<absl::string_view> seen;
  for (const std::string& key : keys) {
    if (key.empty() || key.size() > 128) {
      return Invalid(field, absl::StrCat("tag key \"", key.substr(0, 140),
                                         "\" must be 1 to 128 characters"));
    }
    if (absl::StartsWith(key, "aws:")) {
      return Invalid(field, absl::StrCat("tag key \"", key,
                                         "\" uses the reserved prefix aws:"));
    }
    if (!seen.insert(key).second) {
      return Invalid(field, absl::StrCat("tag key \"", key, "\" is repeated"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateTags(const std::vector<Tag>& tags,
                          absl::string_view field) {
  std::vector<std::string> keys;
  keys.reserve(tags.size());
  for (const Tag& tag : tags) {
    keys.push_back(tag.key);
  }
  // Keys first: a value's message quotes its key, which must be short.
  if (absl::Status s = ValidateTagKeys(keys, field); !s.ok()) {
    return s;
  }
  for (const Tag& tag : tags) {
    if (tag.value.size() > 256) {
      return Invalid(field, absl::StrCat("the value of tag \"", tag.key,
                                         "\" must be at most 256 characters"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int> PageSize(std::optional<int32_t> max_results) {
  if (!max_results) {
    return kDefaultPageSize;
  }
  if (*max_results < 1 || *max_results > kMaxPageSize) {
    return Invalid("max_results",
                   absl::StrCat("must be from 1 to ", kMaxPageSize));
  }
  return *max_results;
}

absl::Status ValidateClientToken(absl::string_view token) {
  if (token.empty() || token.size() > 64) {
    return Invalid("client_token", "must be 1 to 64 characters");
  }
  for (char c : token) {
    if (c < 0x20 || c > 0x7e) {
      return Invalid("client_token", "must be printable ASCII characters");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidatePageToken(absl::string_view token) {
  if (token.size() > kMaxPageTokenLength) {
    return Invalid("next_token",
                   absl::StrCat("must be at most ", kMaxPageTokenLength,
                                " characters long"));
  }
  return absl::OkStatus();
}

absl::Status ValidateEtag(absl::string_view etag) {
  if (etag.size() > kMaxEtagLength) {
    return Invalid("etag", absl::StrCat("must be at most ", kMaxEtagLength,
                                        " characters long"));
  }
  return absl::OkStatus();
}

absl::Status ValidateOperationId(absl::string_view id) {
  // RFC 4122: 8-4-4-4-12 hex digits, version 1-5, variant 8, 9, a or b.
  constexpr absl::string_view kShape = "xxxxxxxx-xxxx-Vxxx-Rxxx-xxxxxxxxxxxx";
  bool valid = id.size() == kShape.size();
  for (size_t i = 0; valid && i < id.size(); ++i) {
    const char c = absl::ascii_tolower(static_cast<unsigned char>(id[i]));
    switch (kShape[i]) {
      case '-':
        valid = c == '-';
        break;
      case 'V':
        valid = c >= '1' && c <= '5';
        break;
      case 'R':
        valid = c == '8' || c == '9' || c == 'a' || c == 'b';
        break;
      default:
        valid = absl::ascii_isxdigit(static_cast<unsigned char>(c));
    }
  }
  if (!valid) {
    return Invalid(
        "operation_id",
        "must be a UUID such as 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d");
  }
  return absl::OkStatus();
}

}  // namespace servicemanager::domain
