#include "aws/app_runner_json.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/util/json_util.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "aws/aws_error.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace servicemanager::aws {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
using google::protobuf::Struct;
using google::protobuf::Value;

constexpr char kTimestamp[] = "google.protobuf.Timestamp";

absl::Status SerializationError(absl::string_view path,
                                absl::string_view problem) {
  return AwsError(absl::StatusCode::kInvalidArgument, kSerializationException,
                  absl::StrCat(path, ": ", problem));
}

absl::Status InvalidRequest(absl::string_view path, absl::string_view problem) {
  return AwsError(absl::StatusCode::kInvalidArgument, kInvalidRequestException,
                  absl::StrCat(path, ": ", problem));
}

std::string Join(absl::string_view path, absl::string_view member) {
  return path.empty() ? std::string(member) : absl::StrCat(path, ".", member);
}

// The field of `descriptor` whose App Runner name is `member`, or null.
const FieldDescriptor* FieldOf(const Descriptor& descriptor,
                               absl::string_view member) {
  for (int i = 0; i < descriptor.field_count(); ++i) {
    const FieldDescriptor* field = descriptor.field(i);
    if (!IsExtensionField(*field) && PascalCase(field->name()) == member) {
      return field;
    }
  }
  return nullptr;
}

// Members of App Runner's model that ServiceManager refuses rather than
// ignores, because ignoring them would create something else than asked.
absl::Status CheckRefused(const Descriptor& descriptor,
                          absl::string_view member, absl::string_view path) {
  if (descriptor.full_name() == "servicemanager.v1.SourceConfiguration" &&
      member == "CodeRepository") {
    return InvalidRequest(
        Join(path, member),
        "ServiceManager deploys images and builds no source code; give "
        "SourceConfiguration.ImageRepository");
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> IntegerOf(const Value& value, absl::string_view path,
                                  int64_t min, int64_t max) {
  if (value.kind_case() != Value::kNumberValue) {
    return SerializationError(path, "expected an integer");
  }
  const double number = value.number_value();
  if (!std::isfinite(number) || std::floor(number) != number ||
      number < static_cast<double>(min) || number > static_cast<double>(max)) {
    return SerializationError(
        path, absl::StrCat("expected an integer from ", min, " to ", max));
  }
  return static_cast<int64_t>(number);
}

absl::Status ParseObject(const Struct& object, Message& message,
                         absl::string_view path);

// Sets (or, for a repeated field, adds) one value of `field`.
absl::Status SetValue(const Value& value, const FieldDescriptor& field,
                      Message& message, absl::string_view path) {
  const Reflection& reflection = *message.GetReflection();
  const bool add = field.is_repeated();
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING: {
      if (value.kind_case() != Value::kStringValue) {
        return SerializationError(path, "expected a string");
      }
      add ? reflection.AddString(&message, &field, value.string_value())
          : reflection.SetString(&message, &field, value.string_value());
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      if (value.kind_case() != Value::kBoolValue) {
        return SerializationError(path, "expected a boolean");
      }
      add ? reflection.AddBool(&message, &field, value.bool_value())
          : reflection.SetBool(&message, &field, value.bool_value());
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_INT32: {
      ASSIGN_OR_RETURN(
          const int64_t number,
          IntegerOf(value, path, std::numeric_limits<int32_t>::min(),
                    std::numeric_limits<int32_t>::max()));
      add ? reflection.AddInt32(&message, &field, static_cast<int32_t>(number))
          : reflection.SetInt32(&message, &field, static_cast<int32_t>(number));
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      // JSON numbers are doubles: integers are exact up to 2^53.
      constexpr int64_t kExact = int64_t{1} << 53;
      ASSIGN_OR_RETURN(const int64_t number,
                       IntegerOf(value, path, -kExact, kExact));
      add ? reflection.AddInt64(&message, &field, number)
          : reflection.SetInt64(&message, &field, number);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      if (value.kind_case() != Value::kStringValue) {
        return SerializationError(path, "expected a string");
      }
      const EnumValueDescriptor* enum_value =
          field.enum_type()->FindValueByName(value.string_value());
      // Value 0 is proto3's UNSPECIFIED, not one of App Runner's strings.
      if (enum_value == nullptr || enum_value->number() == 0) {
        std::vector<std::string> names;
        for (int i = 0; i < field.enum_type()->value_count(); ++i) {
          if (field.enum_type()->value(i)->number() != 0) {
            names.push_back(field.enum_type()->value(i)->name());
          }
        }
        return InvalidRequest(
            path, absl::StrCat("\"", value.string_value(), "\" is not one of ",
                               absl::StrJoin(names, ", ")));
      }
      add ? reflection.AddEnumValue(&message, &field, enum_value->number())
          : reflection.SetEnumValue(&message, &field, enum_value->number());
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      Message* child = add ? reflection.AddMessage(&message, &field)
                           : reflection.MutableMessage(&message, &field);
      if (field.message_type()->full_name() == kTimestamp) {
        if (value.kind_case() != Value::kNumberValue ||
            !std::isfinite(value.number_value()) || value.number_value() < 0 ||
            value.number_value() > 253402300799) {
          return SerializationError(path,
                                    "expected a timestamp in epoch seconds");
        }
        const double seconds = std::floor(value.number_value());
        auto& timestamp = static_cast<google::protobuf::Timestamp&>(*child);
        timestamp.set_seconds(static_cast<int64_t>(seconds));
        timestamp.set_nanos(static_cast<int32_t>(std::round(
                                (value.number_value() - seconds) * 1e9)) %
                            1000000000);
        return absl::OkStatus();
      }
      if (value.kind_case() != Value::kStructValue) {
        return SerializationError(path, "expected an object");
      }
      return ParseObject(value.struct_value(), *child, path);
    }
    default:
      // The API has no unsigned or floating-point fields.
      return SerializationError(path, "has a type this endpoint cannot read");
  }
}

absl::Status SetField(const Value& value, const FieldDescriptor& field,
                      Message& message, absl::string_view path) {
  if (value.kind_case() == Value::kNullValue) {
    return absl::OkStatus();
  }
  if (field.is_map()) {
    if (value.kind_case() != Value::kStructValue) {
      return SerializationError(path, "expected an object");
    }
    const FieldDescriptor& key_field = *field.message_type()->map_key();
    const FieldDescriptor& value_field = *field.message_type()->map_value();
    std::map<std::string, const Value*> entries;
    for (const auto& [key, entry] : value.struct_value().fields()) {
      entries[key] = &entry;
    }
    for (const auto& [key, entry] : entries) {
      Message* map_entry =
          message.GetReflection()->AddMessage(&message, &field);
      map_entry->GetReflection()->SetString(map_entry, &key_field, key);
      if (entry->kind_case() == Value::kNullValue) {
        return SerializationError(Join(path, key), "expected a string");
      }
      RETURN_IF_ERROR(
          SetValue(*entry, value_field, *map_entry, Join(path, key)));
    }
    return absl::OkStatus();
  }
  if (field.is_repeated()) {
    if (value.kind_case() != Value::kListValue) {
      return SerializationError(path, "expected a list");
    }
    for (int i = 0; i < value.list_value().values_size(); ++i) {
      const Value& element = value.list_value().values(i);
      const std::string element_path = absl::StrCat(path, "[", i, "]");
      if (element.kind_case() == Value::kNullValue) {
        return SerializationError(element_path, "null in a list");
      }
      RETURN_IF_ERROR(SetValue(element, field, message, element_path));
    }
    return absl::OkStatus();
  }
  return SetValue(value, field, message, path);
}

absl::Status ParseObject(const Struct& object, Message& message,
                         absl::string_view path) {
  // In name order, so that the first error reported does not depend on the
  // order of a hash map.
  std::map<std::string, const Value*> members;
  for (const auto& [name, value] : object.fields()) {
    members[name] = &value;
  }
  const Descriptor& descriptor = *message.GetDescriptor();
  for (const auto& [name, value] : members) {
    RETURN_IF_ERROR(CheckRefused(descriptor, name, path));
    const FieldDescriptor* field = FieldOf(descriptor, name);
    if (field == nullptr) {
      continue;  // Not implemented, or unknown: ignored (see the header).
    }
    RETURN_IF_ERROR(SetField(*value, *field, message, Join(path, name)));
  }
  return absl::OkStatus();
}

// Epoch seconds with milliseconds, as AWS writes them: 1606156014.123, or
// 1606156014 when whole.
std::string EpochSeconds(const google::protobuf::Timestamp& timestamp) {
  const int millis = timestamp.nanos() / 1000000;
  return millis == 0 ? absl::StrCat(timestamp.seconds())
                     : absl::StrFormat("%d.%03d", timestamp.seconds(), millis);
}

void WriteObject(const Message& message, std::string& out);

// One value of `field` (the index-th if repeated).
void WriteValue(const Message& message, const FieldDescriptor& field, int index,
                std::string& out) {
  const Reflection& reflection = *message.GetReflection();
  const bool repeated = field.is_repeated();
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      out += common::JsonString(
          repeated ? reflection.GetRepeatedString(message, &field, index)
                   : reflection.GetString(message, &field));
      return;
    case FieldDescriptor::CPPTYPE_BOOL:
      out += (repeated ? reflection.GetRepeatedBool(message, &field, index)
                       : reflection.GetBool(message, &field))
                 ? "true"
                 : "false";
      return;
    case FieldDescriptor::CPPTYPE_INT32:
      absl::StrAppend(
          &out, repeated ? reflection.GetRepeatedInt32(message, &field, index)
                         : reflection.GetInt32(message, &field));
      return;
    case FieldDescriptor::CPPTYPE_INT64:
      absl::StrAppend(
          &out, repeated ? reflection.GetRepeatedInt64(message, &field, index)
                         : reflection.GetInt64(message, &field));
      return;
    case FieldDescriptor::CPPTYPE_ENUM: {
      const EnumValueDescriptor* value =
          repeated ? reflection.GetRepeatedEnum(message, &field, index)
                   : reflection.GetEnum(message, &field);
      out += common::JsonString(value->name());
      return;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      const Message& child =
          repeated ? reflection.GetRepeatedMessage(message, &field, index)
                   : reflection.GetMessage(message, &field);
      if (field.message_type()->full_name() == kTimestamp) {
        out += EpochSeconds(
            static_cast<const google::protobuf::Timestamp&>(child));
      } else {
        WriteObject(child, out);
      }
      return;
    }
    default:
      out += "null";  // The API has no unsigned or floating-point fields.
  }
}

// Whether a singular field is worth writing: set, or not at its default.
bool IsPresent(const Message& message, const FieldDescriptor& field) {
  const Reflection& reflection = *message.GetReflection();
  // An empty tag value is a value (SDK users read tag["Value"]), and a
  // CustomDomain's EnableWWWSubdomain is required even when false. App
  // Runner's model requires a Service's source and instance configuration,
  // which a deleted service no longer has: they are written as {}.
  if (field.full_name() == "servicemanager.v1.Tag.value" ||
      field.full_name() ==
          "servicemanager.v1.CustomDomain.enable_www_subdomain" ||
      field.full_name() == "servicemanager.v1.Service.source_configuration" ||
      field.full_name() == "servicemanager.v1.Service.instance_configuration") {
    return true;
  }
  if (field.has_presence()) {
    return reflection.HasField(message, &field);
  }
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      return !reflection.GetString(message, &field).empty();
    case FieldDescriptor::CPPTYPE_BOOL:
      return reflection.GetBool(message, &field);
    case FieldDescriptor::CPPTYPE_INT32:
      return reflection.GetInt32(message, &field) != 0;
    case FieldDescriptor::CPPTYPE_INT64:
      return reflection.GetInt64(message, &field) != 0;
    case FieldDescriptor::CPPTYPE_ENUM:
      return reflection.GetEnumValue(message, &field) != 0;
    default:
      return false;
  }
}

// The members App Runner's Service requires and ServiceManager has no
// settings for, with the values App Runner reports for a service created
// without them.
void WriteServiceDefaults(const Message& service, std::string& out) {
  const FieldDescriptor* arn_field =
      service.GetDescriptor()->FindFieldByName("service_arn");
  if (arn_field == nullptr) {
    return;
  }
  // arn:aws:apprunner:REGION:ACCOUNT:service/NAME/ID
  const std::vector<std::string> parts = absl::StrSplit(
      service.GetReflection()->GetString(service, arn_field), ':');
  if (parts.size() < 6) {
    return;
  }
  absl::StrAppend(
      &out, ",\"AutoScalingConfigurationSummary\":{",
      "\"AutoScalingConfigurationArn\":",
      common::JsonString(absl::StrCat(
          parts[0], ":", parts[1], ":", parts[2], ":", parts[3], ":", parts[4],
          ":autoscalingconfiguration/DefaultConfiguration/1/"
          "00000000000000000000000000000001")),
      ",\"AutoScalingConfigurationName\":\"DefaultConfiguration\","
      "\"AutoScalingConfigurationRevision\":1}",
      ",\"NetworkConfiguration\":{\"EgressConfiguration\":{\"EgressType\":"
      "\"DEFAULT\"},\"IngressConfiguration\":{\"IsPubliclyAccessible\":true}}");
}

void WriteObject(const Message& message, std::string& out) {
  const Descriptor& descriptor = *message.GetDescriptor();
  const Reflection& reflection = *message.GetReflection();
  out += '{';
  bool first = true;
  const auto member = [&](const FieldDescriptor& field) {
    absl::StrAppend(&out, first ? "" : ",", "\"", PascalCase(field.name()),
                    "\":");
    first = false;
  };
  for (int i = 0; i < descriptor.field_count(); ++i) {
    const FieldDescriptor& field = *descriptor.field(i);
    if (IsExtensionField(field)) {
      continue;
    }
    if (field.is_map()) {
      const int size = reflection.FieldSize(message, &field);
      if (size == 0) {
        continue;
      }
      // Sorted, so that equal maps are written alike.
      std::map<std::string, std::string> entries;
      const FieldDescriptor& key_field = *field.message_type()->map_key();
      const FieldDescriptor& value_field = *field.message_type()->map_value();
      for (int j = 0; j < size; ++j) {
        const Message& entry =
            reflection.GetRepeatedMessage(message, &field, j);
        std::string value;
        WriteValue(entry, value_field, -1, value);
        entries[entry.GetReflection()->GetString(entry, &key_field)] = value;
      }
      member(field);
      out += '{';
      bool first_entry = true;
      for (const auto& [key, value] : entries) {
        absl::StrAppend(&out, first_entry ? "" : ",", common::JsonString(key),
                        ":", value);
        first_entry = false;
      }
      out += '}';
    } else if (field.is_repeated()) {
      member(field);
      out += '[';
      for (int j = 0; j < reflection.FieldSize(message, &field); ++j) {
        if (j > 0) out += ',';
        WriteValue(message, field, j, out);
      }
      out += ']';
    } else if (IsPresent(message, field)) {
      member(field);
      WriteValue(message, field, -1, out);
    }
  }
  // The custom domain responses' VpcDNSTargets, which App Runner's model
  // requires: ServiceManager has no VPC ingress connections, so none.
  if (descriptor.FindFieldByName("custom_domain") != nullptr ||
      descriptor.FindFieldByName("custom_domains") != nullptr) {
    out += first ? "\"VpcDNSTargets\":[]" : ",\"VpcDNSTargets\":[]";
    first = false;
  }
  if (descriptor.full_name() == "servicemanager.v1.Service") {
    std::string defaults;
    WriteServiceDefaults(message, defaults);
    // WriteServiceDefaults starts each member with a comma.
    out += first && !defaults.empty() ? defaults.substr(1) : defaults;
  }
  out += '}';
}

}  // namespace

std::string PascalCase(absl::string_view snake_case) {
  // App Runner spells these acronyms in capitals.
  if (snake_case == "enable_www_subdomain") return "EnableWWWSubdomain";
  if (snake_case == "dns_target") return "DNSTarget";
  std::string result;
  bool upper = true;
  for (char c : snake_case) {
    if (c == '_') {
      upper = true;
      continue;
    }
    result += upper ? absl::ascii_toupper(static_cast<unsigned char>(c)) : c;
    upper = false;
  }
  return result;
}

bool IsExtensionField(const google::protobuf::FieldDescriptor& field) {
  static constexpr absl::string_view kExtensions[] = {
      "client_token", "validate_only",  "etag",
      "show_deleted", "deployed_image", "latest_image",
      "validation",   "certificate_id", "endpoint"};
  for (absl::string_view name : kExtensions) {
    if (field.name() == name) {
      return true;
    }
  }
  return false;
}

absl::Status ParseAppRunnerJson(absl::string_view body,
                                google::protobuf::Message& message) {
  message.Clear();
  if (absl::StripAsciiWhitespace(body).empty()) {
    return absl::OkStatus();
  }
  Struct object;
  const google::protobuf::util::Status parsed =
      google::protobuf::util::JsonStringToMessage(
          google::protobuf::StringPiece(body.data(), body.size()), &object);
  if (!parsed.ok()) {
    return AwsError(absl::StatusCode::kInvalidArgument, kSerializationException,
                    absl::StrCat("the request body is not a JSON object: ",
                                 parsed.message().ToString()));
  }
  return ParseObject(object, message, "");
}

std::string ToAppRunnerJson(const google::protobuf::Message& message) {
  std::string out;
  WriteObject(message, out);
  return out;
}

}  // namespace servicemanager::aws
