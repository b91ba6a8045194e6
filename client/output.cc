#include "client/output.h"

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "client/service_manager_client.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/json_util.h"

namespace servicemanager::client {

absl::Status PrintJson(const google::protobuf::Message& message,
                       std::ostream& out) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  std::string json;
  google::protobuf::util::Status status =
      google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("cannot print the response: ",
                                            status.message().ToString()));
  }
  out << absl::StripTrailingAsciiWhitespace(json) << "\n";
  return absl::OkStatus();
}

absl::Status PrintJsonLine(const google::protobuf::Message& message,
                           std::ostream& out) {
  std::string json;
  google::protobuf::util::Status status =
      google::protobuf::util::MessageToJsonString(message, &json);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("cannot print the response: ",
                                            status.message().ToString()));
  }
  out << json << std::endl;
  return absl::OkStatus();
}

std::string ApiErrorLine(absl::string_view operation,
                         const absl::Status& status) {
  std::string error_type = ErrorType(status);
  if (error_type.empty()) error_type = absl::StatusCodeToString(status.code());
  return absl::StrCat("An error occurred (", error_type, ") when calling the ",
                      operation, " operation: ", status.message());
}

}  // namespace servicemanager::client
