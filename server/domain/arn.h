// App Runner resource names: parsing and formatting. Pure functions.
#ifndef SERVICEMANAGER_SERVER_DOMAIN_ARN_H_
#define SERVICEMANAGER_SERVER_DOMAIN_ARN_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "domain/connection.h"

namespace servicemanager::domain {

// "arn:aws:apprunner:REGION:ACCOUNT:service/NAME/ID".
std::string ServiceArn(absl::string_view region, absl::string_view account_id,
                       absl::string_view name, absl::string_view id);

struct ServiceRef {
  std::string account_id;  // 12 digits.
  std::string name;
  std::string id;
};

// The accounts whose resources a call may reach: one account, or all of them.
struct AccountScope {
  std::optional<std::string> account_id;  // Absent: every account.

  bool Covers(absl::string_view account) const {
    return !account_id.has_value() || *account_id == account;
  }
};

// Parses `arn`, given in request field `field`:
// - INVALID_ARGUMENT (naming `field`) if it is empty, longer than 1011
//   characters or does not match App Runner's ARN pattern
//   arn:aws(-\w+)*:[a-z0-9-.]{0,63}:[a-z0-9-.]{0,63}:[0-9]{12}:(\w|/|-){1,1011};
// - NOT_FOUND if it is a well-formed ARN but not of a service in `region`
//   and `scope` (another region, an account out of scope or another resource
//   type): the caller cannot tell it from a service that does not exist.
absl::StatusOr<ServiceRef> ParseServiceArn(absl::string_view region,
                                           const AccountScope& scope,
                                           absl::string_view arn,
                                           absl::string_view field);

// "arn:aws:apprunner:REGION:ACCOUNT:connection/NAME/ID", of the connection's
// own account.
std::string ConnectionArn(absl::string_view region, const ConnectionRef& ref);

// Parses a connection's ARN as ParseServiceArn does a service's: the same
// INVALID_ARGUMENT for a malformed one, and NOT_FOUND for a well-formed ARN
// that is not of a connection in `region` and `scope`.
absl::StatusOr<ConnectionRef> ParseConnectionArn(absl::string_view region,
                                                 const AccountScope& scope,
                                                 absl::string_view arn,
                                                 absl::string_view field);

// Whether `arn` names a connection (its resource is "connection/..."), for
// the calls that take the ARN of either kind (TagResource). Anything else is
// treated as a service's ARN, whose parse reports what is wrong with it.
bool IsConnectionArn(absl::string_view arn);

}  // namespace servicemanager::domain

#endif  // SERVICEMANAGER_SERVER_DOMAIN_ARN_H_
