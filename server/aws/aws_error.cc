#include "aws/aws_error.h"

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"

namespace servicemanager::aws {
namespace {

// The payload key; a type URL by absl's convention, never sent anywhere.
constexpr char kPayloadKey[] = "type.servicemanager/aws.ErrorType";

}  // namespace

absl::Status WithErrorType(absl::Status status, absl::string_view type) {
  status.SetPayload(kPayloadKey, absl::Cord(type));
  return status;
}

absl::Status AwsError(absl::StatusCode code, absl::string_view type,
                      absl::string_view message) {
  return WithErrorType(absl::Status(code, message), type);
}

std::string ErrorTypeOf(const absl::Status& status) {
  absl::optional<absl::Cord> type = status.GetPayload(kPayloadKey);
  if (!type.has_value() || type->empty()) {
    return kInternalServiceErrorException;
  }
  return std::string(*type);
}

int HttpStatusOf(absl::string_view error_type) {
  if (error_type == kInternalServiceErrorException) {
    return 500;
  }
  if (error_type == kInvalidSignatureException ||
      error_type == kMissingAuthenticationTokenException ||
      error_type == kUnrecognizedClientException ||
      error_type == kAccessDeniedException) {
    return 403;
  }
  return 400;
}

}  // namespace servicemanager::aws
