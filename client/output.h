// What smctl prints: responses in the format --output chose, and failed calls
// as the AWS CLI words them on stderr.
//
// The three formats follow the AWS CLI's, generically over protobuf
// reflection, so that a new field or RPC needs no printing code:
//
// - json: protobuf's JSON printer, indented, lowerCamelCase field names.
// - text: tab-separated values, one line per message. A line holds the
//   values of the message's scalar fields that are set, in the order of the
//   .proto file; a nested message's line starts with its field name in
//   UPPERCASE ("SERVICE", "IMAGEREPOSITORY") and comes after its parent's,
//   depth first; the response's own line has no name and is left out when it
//   has no scalar field set. Each element of a list of messages is a line,
//   and all of them have a column for every scalar field that any of them
//   has (empty where one has none), so `cut -f` works on them. A list of
//   scalars is one line per value ("TAGKEYS\tteam"), a map one line per entry
//   in key order ("RUNTIMEENVIRONMENTVARIABLES\tLOG_LEVEL\tdebug").
// - table: an ASCII table titled with the operation's name. A message is a
//   section of key/value rows (its scalar fields), followed by one nested
//   section per message field, drawn one border further in; a list of
//   messages is one section with a column per scalar field and a row per
//   element; a map is a section of key/value rows in key order.
//
// In text and table, a value prints as in JSON except that booleans are
// "True"/"False" and strings are not quoted, as the AWS CLI prints them;
// timestamps and durations are RFC 3339 ("2026-11-26T10:00:00.123Z") and
// "1.500s". Tabs, newlines and backslashes in strings are escaped ("\t",
// "\n", "\\") so that every line stays one line. Fields that JSON would leave
// out (unset, or proto3 defaults) are left out; an empty response prints
// nothing in text and table ("{}" in json).
#ifndef SERVICEMANAGER_CLIENT_OUTPUT_H_
#define SERVICEMANAGER_CLIENT_OUTPUT_H_

#include <optional>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace servicemanager::client {

// The value of smctl's --output.
enum class OutputFormat { kJson, kTable, kText };

// "json", "table" or "text"; nullopt for anything else.
std::optional<OutputFormat> ParseOutputFormat(absl::string_view name);

// Prints `message` to `out` as indented JSON with lowerCamelCase field names,
// followed by a newline.
absl::Status PrintJson(const google::protobuf::Message& message,
                       std::ostream& out);

// Prints `message` to `out` as JSON on one line (for streams).
absl::Status PrintJsonLine(const google::protobuf::Message& message,
                           std::ostream& out);

// `message` in the text format described above; every line ends with a
// newline.
std::string FormatText(const google::protobuf::Message& message);

// One line of text for `message`, without a newline, for streams (one line
// per message): the values of every scalar field of its type, in the .proto
// file's order, empty where a field is unset, so that each field keeps its
// column from one line to the next ("cut -f 8" is a Service's status).
std::string FormatTextLine(const google::protobuf::Message& message);

// `message` as a table titled `title` (the operation's name); every line
// ends with a newline. Empty if `message` has no field set.
std::string FormatTable(const google::protobuf::Message& message,
                        absl::string_view title);

// Prints a response of `operation` ("DescribeService") to `out` in `format`.
absl::Status PrintResponse(const google::protobuf::Message& message,
                           OutputFormat format, absl::string_view operation,
                           std::ostream& out);

// The AWS CLI's line for a failed call, without a newline: "An error occurred
// (InvalidStateException) when calling the PauseService operation: ...". The
// exception name is ErrorType(status), or the status code's name
// ("UNAVAILABLE") when there is none.
std::string ApiErrorLine(absl::string_view operation,
                         const absl::Status& status);

}  // namespace servicemanager::client

#endif  // SERVICEMANAGER_CLIENT_OUTPUT_H_
