// Input rules, App Runner's where it has them. Each failure is
// INVALID_ARGUMENT and its message starts with the request field it names.
// Pure functions.
#ifndef SERVICEMANAGER_SERVER_DOMAIN_VALIDATION_H_
#define SERVICEMANAGER_SERVER_DOMAIN_VALIDATION_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "domain/service.h"

namespace servicemanager::domain {

inline constexpr int kMaxTagsPerResource = 50;
inline constexpr int kDefaultPageSize = 20;
inline constexpr int kMaxPageSize = 100;
// Not App Runner's (its model sets no count): at most this many runtime
// environment variables, and as many secrets, on a service.
inline constexpr int kMaxEnvironmentVariables = 100;
// App Runner's NextToken: 1-1024 characters.
inline constexpr size_t kMaxPageTokenLength = 1024;
// Our etags ("<revision>-<8 hex>") are under 30 characters.
inline constexpr size_t kMaxEtagLength = 64;

// 4-40 characters: [A-Za-z0-9][A-Za-z0-9-_]{3,39}.
absl::Status ValidateServiceName(absl::string_view name);

// 4-32 characters: [A-Za-z0-9][A-Za-z0-9-_]{3,31}, in request field `field`.
absl::Status ValidateConnectionName(absl::string_view name,
                                    absl::string_view field);

// A DNS name, in request field `field`: at most 253 characters, at least two
// labels separated by '.', each 1-63 letters, digits and '-' that neither
// starts nor ends with '-'; "*." may start it (a wildcard). Returns it in
// lower case, as DNS compares names.
absl::StatusOr<std::string> CanonicalDomainName(absl::string_view name,
                                                absl::string_view field);

// 1-1024 characters with no white space or control characters.
absl::Status ValidateImageIdentifier(absl::string_view identifier,
                                     absl::string_view field);

// Checks every part of a source configuration: image identifier, port
// ("1"-"65535", digits only), start command (at most 51200 characters, no line
// breaks), environment variables and secrets (at most kMaxEnvironmentVariables
// of each, names 1-256 characters, values at most 51200).
// CanonicalizeInstanceConfiguration checks cpu and memory and rewrites them in
// their canonical number form ("1 vCPU" -> "1024", "2 GB" -> "2048"). `field`
// prefixes messages.
absl::Status ValidateSourceConfiguration(const SourceConfiguration& source,
                                         absl::string_view field);
absl::Status CanonicalizeInstanceConfiguration(InstanceConfiguration& instance,
                                               absl::string_view field);
absl::Status ValidateHealthCheckConfiguration(
    const HealthCheckConfiguration& health, absl::string_view field);

// Keys 1-128 characters, not starting with "aws:", unique; values 0-256
// characters; at most kMaxTagsPerResource.
absl::Status ValidateTags(const std::vector<Tag>& tags,
                          absl::string_view field);
absl::Status ValidateTagKeys(const std::vector<std::string>& keys,
                             absl::string_view field);

// A client token: 1-64 printable ASCII characters.
absl::Status ValidateClientToken(absl::string_view token);

// A page token (next_token): empty, or at most kMaxPageTokenLength
// characters. Whether it belongs to the listing is the store's to say.
absl::Status ValidatePageToken(absl::string_view token);

// An etag: empty (no check), or at most kMaxEtagLength characters.
absl::Status ValidateEtag(absl::string_view etag);

// An operation id: a UUID, 36 characters (App Runner's shape).
absl::Status ValidateOperationId(absl::string_view id);

// max_results: absent means kDefaultPageSize; otherwise 1-kMaxPageSize.
absl::StatusOr<int> PageSize(std::optional<int32_t> max_results);

}  // namespace servicemanager::domain

#endif  // SERVICEMANAGER_SERVER_DOMAIN_VALIDATION_H_
