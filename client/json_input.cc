#include "client/json_input.h"

#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/stubs/stringpiece.h"
#include "google/protobuf/util/json_util.h"

namespace servicemanager::client {
namespace {

using ::google::protobuf::Descriptor;
using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::Value;

constexpr absl::string_view kFilePrefix = "file://";

const FieldDescriptor* FindField(const Descriptor* type,
                                 absl::string_view key) {
  for (int i = 0; i < type->field_count(); ++i) {
    const FieldDescriptor* field = type->field(i);
    if (field->name() == key || field->json_name() == key) return field;
  }
  return nullptr;
}

// Whether JSON gives `field` as an object with the fields of its message
// type. The well-known types have JSON forms of their own (a timestamp is a
// string); none of them has PascalCase to rename.
bool IsObject(const FieldDescriptor* field) {
  return field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
         field->message_type()->file()->package() != "google.protobuf";
}

// Renames the PascalCase keys of `value`, the JSON of a message of `type`,
// to the fields' JSON names, at every depth; returns whether it renamed one.
bool RenamePascalCase(const Descriptor* type, Value* value) {
  if (value->kind_case() != Value::kStructValue) return false;
  bool renamed = false;
  google::protobuf::Struct fields;
  for (const auto& [key, original] : value->struct_value().fields()) {
    std::string name = key;
    const FieldDescriptor* field = FindField(type, key);
    if (field == nullptr && !key.empty() && absl::ascii_isupper(key[0])) {
      // PascalCase differs from the JSON name in case only, including App
      // Runner's acronyms (EnableWWWSubdomain, enableWwwSubdomain).
      for (int i = 0; i < type->field_count() && field == nullptr; ++i) {
        if (absl::EqualsIgnoreCase(type->field(i)->json_name(), key)) {
          field = type->field(i);
        }
      }
      if (field != nullptr) {
        name = field->json_name();
        renamed = true;
      }
    }
    Value nested = original;
    if (field != nullptr && field->is_map()) {
      // The keys are the caller's data; only message values have fields.
      const FieldDescriptor* map_value = field->message_type()->map_value();
      if (IsObject(map_value) && nested.kind_case() == Value::kStructValue) {
        for (auto& [map_key, entry] :
             *nested.mutable_struct_value()->mutable_fields()) {
          renamed |= RenamePascalCase(map_value->message_type(), &entry);
        }
      }
    } else if (field != nullptr && IsObject(field) && field->is_repeated()) {
      if (nested.kind_case() == Value::kListValue) {
        for (Value& element : *nested.mutable_list_value()->mutable_values()) {
          renamed |= RenamePascalCase(field->message_type(), &element);
        }
      }
    } else if (field != nullptr && IsObject(field)) {
      renamed |= RenamePascalCase(field->message_type(), &nested);
    }
    (*fields.mutable_fields())[name] = std::move(nested);
  }
  *value->mutable_struct_value() = std::move(fields);
  return renamed;
}

google::protobuf::util::Status JsonToMessage(
    absl::string_view json, google::protobuf::Message* message) {
  return google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), message);
}

}  // namespace

absl::Status ParseJson(absl::string_view json,
                       google::protobuf::Message* message) {
  google::protobuf::util::Status status = JsonToMessage(json, message);
  if (status.ok()) return absl::OkStatus();
  // Only input that failed as it is gets rewritten: the rewrite goes through
  // google.protobuf.Value, whose numbers are doubles.
  Value value;
  if (JsonToMessage(json, &value).ok() &&
      RenamePascalCase(message->GetDescriptor(), &value)) {
    std::string renamed;
    if (google::protobuf::util::MessageToJsonString(value, &renamed).ok()) {
      status = JsonToMessage(renamed, message);
      if (status.ok()) return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("invalid JSON: ", status.message().ToString()));
}

absl::StatusOr<std::string> ReadCliInputJson(absl::string_view value) {
  if (!absl::StartsWith(value, kFilePrefix)) return std::string(value);
  const std::string path(value.substr(kFilePrefix.size()));
  std::ifstream in(path);
  if (!in.is_open()) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read ", path));
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void OverrideFields(const google::protobuf::Message& given,
                    google::protobuf::Message* base) {
  std::vector<const FieldDescriptor*> set;
  given.GetReflection()->ListFields(given, &set);
  for (const FieldDescriptor* field : set) {
    base->GetReflection()->ClearField(base, field);
  }
  base->MergeFrom(given);
}

}  // namespace servicemanager::client
