// What smctl prints: responses as JSON on stdout, failed calls as the AWS CLI
// words them on stderr.
#ifndef SERVICEMANAGER_CLIENT_OUTPUT_H_
#define SERVICEMANAGER_CLIENT_OUTPUT_H_

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace servicemanager::client {

// Prints `message` to `out` as indented JSON with lowerCamelCase field names,
// followed by a newline.
absl::Status PrintJson(const google::protobuf::Message& message,
                       std::ostream& out);

// Prints `message` to `out` as JSON on one line (for streams).
absl::Status PrintJsonLine(const google::protobuf::Message& message,
                           std::ostream& out);

// The AWS CLI's line for a failed call, without a newline: "An error occurred
// (InvalidStateException) when calling the PauseService operation: ...". The
// exception name is ErrorType(status), or the status code's name
// ("UNAVAILABLE") when there is none.
std::string ApiErrorLine(absl::string_view operation,
                         const absl::Status& status);

}  // namespace servicemanager::client

#endif  // SERVICEMANAGER_CLIENT_OUTPUT_H_
