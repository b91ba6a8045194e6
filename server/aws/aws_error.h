// Errors as App Runner's wire protocol reports them: an absl::Status whose
// payload names the AWS exception (the "__type" of the JSON error body), the
// same name the gRPC API puts in its x-amzn-errortype trailer.
#ifndef SERVICEMANAGER_SERVER_AWS_AWS_ERROR_H_
#define SERVICEMANAGER_SERVER_AWS_AWS_ERROR_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace servicemanager::aws {

// Exception names of the AWS JSON protocol that are not App Runner's own.
inline constexpr char kSerializationException[] = "SerializationException";
inline constexpr char kUnknownOperationException[] =
    "UnknownOperationException";
inline constexpr char kInvalidSignatureException[] =
    "InvalidSignatureException";
inline constexpr char kIncompleteSignatureException[] =
    "IncompleteSignatureException";
inline constexpr char kMissingAuthenticationTokenException[] =
    "MissingAuthenticationTokenException";
inline constexpr char kUnrecognizedClientException[] =
    "UnrecognizedClientException";
// The principal's role does not allow the call (a read-only key's change).
inline constexpr char kAccessDeniedException[] = "AccessDeniedException";
// App Runner's.
inline constexpr char kInvalidRequestException[] = "InvalidRequestException";
inline constexpr char kInternalServiceErrorException[] =
    "InternalServiceErrorException";

// `status` (an error) carrying `type` as its AWS exception name.
absl::Status WithErrorType(absl::Status status, absl::string_view type);

// Shorthand for WithErrorType(absl::Status(code, message), type).
absl::Status AwsError(absl::StatusCode code, absl::string_view type,
                      absl::string_view message);

// The AWS exception name of an error: the one attached by WithErrorType, or
// InternalServiceErrorException for an error that carries none (a bug or a
// failure of the in-process channel, never the caller's fault).
std::string ErrorTypeOf(const absl::Status& status);

// The HTTP status AWS answers an exception with: 500 for
// InternalServiceErrorException (a "fault" in the model), 403 for the
// authentication failures, 400 for everything else.
int HttpStatusOf(absl::string_view error_type);

}  // namespace servicemanager::aws

#endif  // SERVICEMANAGER_SERVER_AWS_AWS_ERROR_H_
