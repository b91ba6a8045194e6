// smctl's JSON input: the JSON options (--source-configuration) and
// --cli-input-json, which gives a whole request as the AWS CLI's option of the
// same name does.
#ifndef SERVICEMANAGER_CLIENT_JSON_INPUT_H_
#define SERVICEMANAGER_CLIENT_JSON_INPUT_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace servicemanager::client {

// Parses JSON into `message`, which it replaces. Field names may be the
// proto's ("image_repository"), lowerCamelCase ("imageRepository") or App
// Runner's PascalCase ("ImageRepository"), so that input written for
// `aws apprunner` works where its fields exist here. Keys of maps (such as
// runtime environment variables) are kept as written. Unknown fields are an
// error, as they are for the AWS CLI.
absl::Status ParseJson(absl::string_view json,
                       google::protobuf::Message* message);

// The JSON that a --cli-input-json value stands for: the value itself, or
// the contents of PATH for "file://PATH".
absl::StatusOr<std::string> ReadCliInputJson(absl::string_view value);

// Replaces each field of `base` that is set in `given` (as JSON would print
// it: a non-default value, a present message, a non-empty list) with the
// value in `given`; other fields of `base` stay. This is how options given
// on the command line override --cli-input-json: a whole top-level field at
// a time, lists included, as in the AWS CLI. Both must be of the same type.
void OverrideFields(const google::protobuf::Message& given,
                    google::protobuf::Message* base);

}  // namespace servicemanager::client

#endif  // SERVICEMANAGER_CLIENT_JSON_INPUT_H_
