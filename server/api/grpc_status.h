// The only mapping from absl::Status to grpc::Status.
#ifndef SERVICEMANAGER_SERVER_API_GRPC_STATUS_H_
#define SERVICEMANAGER_SERVER_API_GRPC_STATUS_H_

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace servicemanager::api {

// The trailing metadata key that carries App Runner's exception name.
inline constexpr char kErrorTypeKey[] = "x-amzn-errortype";

// App Runner's name for an error of this code: InvalidRequestException,
// InvalidStateException, ResourceNotFoundException,
// ServiceQuotaExceededException or InternalServiceErrorException.
absl::string_view AppRunnerErrorType(absl::StatusCode code);

// The same code and message; for an error, also adds App Runner's exception
// name to the call's trailing metadata under kErrorTypeKey.
grpc::Status ToGrpcStatus(const absl::Status& status,
                          grpc::ServerContextBase& context);

}  // namespace servicemanager::api

#endif  // SERVICEMANAGER_SERVER_API_GRPC_STATUS_H_
