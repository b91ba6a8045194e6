#include "client/output.h"

#include <algorithm>
#include <cstddef>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "client/service_manager_client.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/json_util.h"

namespace servicemanager::client {
namespace {

using ::google::protobuf::Descriptor;
using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::Message;
using ::google::protobuf::Reflection;

// The well-known types (Timestamp, Duration, wrappers...) have a JSON form
// of their own and print as one value, as they do in JSON.
bool IsWellKnown(const Descriptor* type) {
  const std::string& file = type->file()->name();
  return file == "google/protobuf/timestamp.proto" ||
         file == "google/protobuf/duration.proto" ||
         file == "google/protobuf/wrappers.proto" ||
         file == "google/protobuf/struct.proto" ||
         file == "google/protobuf/field_mask.proto" ||
         file == "google/protobuf/any.proto";
}

// Whether `field` prints as one value rather than as lines or sections.
bool IsScalar(const FieldDescriptor* field) {
  if (field->is_repeated()) return false;
  return field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE ||
         IsWellKnown(field->message_type());
}

// Whether JSON would print `field` of `message`.
bool IsSet(const Message& message, const FieldDescriptor* field) {
  const Reflection* reflection = message.GetReflection();
  return field->is_repeated() ? reflection->FieldSize(message, field) > 0
                              : reflection->HasField(message, field);
}

// Keeps a value on one line and one cell.
std::string Escape(absl::string_view text) {
  return absl::StrReplaceAll(text,
                             {{"\\", "\\\\"}, {"\t", "\\t"}, {"\n", "\\n"}});
}

// A well-known message as its JSON value, unquoted if it is a string.
std::string WellKnownText(const Message& message) {
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(message, &json).ok()) {
    return "";
  }
  if (json.size() >= 2 && json.front() == '"' && json.back() == '"' &&
      !absl::StrContains(json, '\\')) {
    return json.substr(1, json.size() - 2);
  }
  return json;
}

// The value of a singular scalar field (index < 0) or of one element of a
// repeated one, as text and table print it.
std::string ValueText(const Message& message, const FieldDescriptor* field,
                      int index = -1) {
  const Reflection* r = message.GetReflection();
  const bool repeated = index >= 0;
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return absl::StrCat(repeated ? r->GetRepeatedInt32(message, field, index)
                                   : r->GetInt32(message, field));
    case FieldDescriptor::CPPTYPE_INT64:
      return absl::StrCat(repeated ? r->GetRepeatedInt64(message, field, index)
                                   : r->GetInt64(message, field));
    case FieldDescriptor::CPPTYPE_UINT32:
      return absl::StrCat(repeated ? r->GetRepeatedUInt32(message, field, index)
                                   : r->GetUInt32(message, field));
    case FieldDescriptor::CPPTYPE_UINT64:
      return absl::StrCat(repeated ? r->GetRepeatedUInt64(message, field, index)
                                   : r->GetUInt64(message, field));
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return absl::StrCat(repeated ? r->GetRepeatedDouble(message, field, index)
                                   : r->GetDouble(message, field));
    case FieldDescriptor::CPPTYPE_FLOAT:
      return absl::StrCat(repeated ? r->GetRepeatedFloat(message, field, index)
                                   : r->GetFloat(message, field));
    case FieldDescriptor::CPPTYPE_BOOL:
      // As the AWS CLI prints them (Python's).
      return (repeated ? r->GetRepeatedBool(message, field, index)
                       : r->GetBool(message, field))
                 ? "True"
                 : "False";
    case FieldDescriptor::CPPTYPE_ENUM: {
      const int number = repeated
                             ? r->GetRepeatedEnumValue(message, field, index)
                             : r->GetEnumValue(message, field);
      const google::protobuf::EnumValueDescriptor* value =
          field->enum_type()->FindValueByNumber(number);
      return value != nullptr ? value->name() : absl::StrCat(number);
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      const std::string text = repeated
                                   ? r->GetRepeatedString(message, field, index)
                                   : r->GetString(message, field);
      return field->type() == FieldDescriptor::TYPE_BYTES
                 ? absl::Base64Escape(text)
                 : Escape(text);
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      const Message& value = repeated
                                 ? r->GetRepeatedMessage(message, field, index)
                                 : r->GetMessage(message, field);
      return IsWellKnown(field->message_type()) ? Escape(WellKnownText(value))
                                                : Escape(FormatTextLine(value));
    }
  }
  return "";
}

// The scalar fields of `message` that are set, in the .proto file's order.
std::vector<const FieldDescriptor*> SetScalars(const Message& message) {
  std::vector<const FieldDescriptor*> fields;
  const Descriptor* type = message.GetDescriptor();
  for (int i = 0; i < type->field_count(); ++i) {
    const FieldDescriptor* field = type->field(i);
    if (IsScalar(field) && IsSet(message, field)) fields.push_back(field);
  }
  return fields;
}

// The scalar fields set in any element of the repeated message `field`, in
// the .proto file's order: the columns of a list.
std::vector<const FieldDescriptor*> ListColumns(const Message& message,
                                                const FieldDescriptor* field) {
  const Reflection* r = message.GetReflection();
  const Descriptor* type = field->message_type();
  std::vector<const FieldDescriptor*> columns;
  for (int i = 0; i < type->field_count(); ++i) {
    const FieldDescriptor* column = type->field(i);
    if (!IsScalar(column)) continue;
    for (int j = 0; j < r->FieldSize(message, field); ++j) {
      if (IsSet(r->GetRepeatedMessage(message, field, j), column)) {
        columns.push_back(column);
        break;
      }
    }
  }
  return columns;
}

// The entries of the map `field` of `message`, sorted by key, as the key's
// text and the entry (whose field 2 is the value).
std::vector<std::pair<std::string, const Message*>> MapEntries(
    const Message& message, const FieldDescriptor* field) {
  const Reflection* r = message.GetReflection();
  std::vector<std::pair<std::string, const Message*>> entries;
  for (int i = 0; i < r->FieldSize(message, field); ++i) {
    const Message& entry = r->GetRepeatedMessage(message, field, i);
    entries.emplace_back(ValueText(entry, entry.GetDescriptor()->map_key()),
                         &entry);
  }
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  return entries;
}

// Text format ---------------------------------------------------------------

// Appends the lines of `message`, named `name` ("" for the response), with
// the given columns (a list's) or its own set scalars.
void AppendText(const Message& message, absl::string_view name,
                const std::vector<const FieldDescriptor*>* columns,
                std::string* out) {
  const Reflection* r = message.GetReflection();
  std::vector<std::string> values;
  if (!name.empty()) values.push_back(absl::AsciiStrToUpper(name));
  const std::vector<const FieldDescriptor*> own =
      columns == nullptr ? SetScalars(message)
                         : std::vector<const FieldDescriptor*>();
  for (const FieldDescriptor* field : columns != nullptr ? *columns : own) {
    values.push_back(IsSet(message, field) ? ValueText(message, field) : "");
  }
  if (values.size() > (name.empty() ? 0u : 1u)) {
    absl::StrAppend(out, absl::StrJoin(values, "\t"), "\n");
  }
  const Descriptor* type = message.GetDescriptor();
  for (int i = 0; i < type->field_count(); ++i) {
    const FieldDescriptor* field = type->field(i);
    if (IsScalar(field) || !IsSet(message, field)) continue;
    const std::string field_name = absl::AsciiStrToUpper(field->json_name());
    if (field->is_map()) {
      const FieldDescriptor* value = field->message_type()->map_value();
      for (const auto& [key, entry] : MapEntries(message, field)) {
        absl::StrAppend(out, field_name, "\t", key, "\t",
                        ValueText(*entry, value), "\n");
      }
    } else if (field->is_repeated() &&
               field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
               !IsWellKnown(field->message_type())) {
      const std::vector<const FieldDescriptor*> list_columns =
          ListColumns(message, field);
      for (int j = 0; j < r->FieldSize(message, field); ++j) {
        AppendText(r->GetRepeatedMessage(message, field, j), field->json_name(),
                   &list_columns, out);
      }
    } else if (field->is_repeated()) {
      for (int j = 0; j < r->FieldSize(message, field); ++j) {
        absl::StrAppend(out, field_name, "\t", ValueText(message, field, j),
                        "\n");
      }
    } else {
      AppendText(r->GetMessage(message, field), field->json_name(), nullptr,
                 out);
    }
  }
}

// Table format --------------------------------------------------------------

// One titled box of the table, drawn `depth` borders in.
struct Section {
  int depth = 0;
  std::string title;
  std::vector<std::string> header;  // Column names; empty for key/value rows.
  std::vector<std::vector<std::string>> rows;
};

Section NewSection(int depth, const std::string& title) {
  Section section;
  section.depth = depth;
  section.title = title;
  return section;
}

// Left and right padding of a cell.
constexpr size_t kPadLeft = 2;
constexpr size_t kPadRight = 2;

void AddMessageSections(const Message& message, const std::string& title,
                        int depth, std::vector<Section>* sections);

// Adds the nested sections of `message`'s fields that are not scalars.
void AddNestedSections(const Message& message, int depth,
                       std::vector<Section>* sections) {
  const Reflection* r = message.GetReflection();
  const Descriptor* type = message.GetDescriptor();
  for (int i = 0; i < type->field_count(); ++i) {
    const FieldDescriptor* field = type->field(i);
    if (IsScalar(field) || !IsSet(message, field)) continue;
    const std::string& title = field->json_name();
    if (field->is_map()) {
      Section section = NewSection(depth, title);
      const FieldDescriptor* value = field->message_type()->map_value();
      for (const auto& [key, entry] : MapEntries(message, field)) {
        section.rows.push_back({key, ValueText(*entry, value)});
      }
      sections->push_back(std::move(section));
    } else if (field->is_repeated() &&
               field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
               !IsWellKnown(field->message_type())) {
      // As the AWS CLI draws a list: one header and a row per element; an
      // element with nested messages is followed by their sections, and the
      // next element opens the list's section again.
      const std::vector<const FieldDescriptor*> columns =
          ListColumns(message, field);
      Section section = NewSection(depth, title);
      for (const FieldDescriptor* column : columns) {
        section.header.push_back(column->json_name());
      }
      for (int j = 0; j < r->FieldSize(message, field); ++j) {
        const Message& element = r->GetRepeatedMessage(message, field, j);
        std::vector<std::string> row;
        for (const FieldDescriptor* column : columns) {
          row.push_back(IsSet(element, column) ? ValueText(element, column)
                                               : "");
        }
        if (!columns.empty()) section.rows.push_back(std::move(row));
        std::vector<Section> nested;
        AddNestedSections(element, depth + 1, &nested);
        if (nested.empty()) continue;
        sections->push_back(section);
        section.rows.clear();
        sections->insert(sections->end(), nested.begin(), nested.end());
      }
      if (!section.rows.empty()) sections->push_back(std::move(section));
    } else if (field->is_repeated()) {
      Section section = NewSection(depth, title);
      for (int j = 0; j < r->FieldSize(message, field); ++j) {
        section.rows.push_back({ValueText(message, field, j)});
      }
      sections->push_back(std::move(section));
    } else {
      AddMessageSections(r->GetMessage(message, field), title, depth, sections);
    }
  }
}

// Adds a key/value section for `message` and the sections of its nested
// messages; nothing for a message without any field set.
void AddMessageSections(const Message& message, const std::string& title,
                        int depth, std::vector<Section>* sections) {
  std::vector<const google::protobuf::FieldDescriptor*> set;
  message.GetReflection()->ListFields(message, &set);
  if (set.empty()) return;
  Section section = NewSection(depth, title);
  for (const FieldDescriptor* field : SetScalars(message)) {
    section.rows.push_back({field->json_name(), ValueText(message, field)});
  }
  sections->push_back(std::move(section));
  AddNestedSections(message, depth + 1, sections);
}

// The number of columns of a section's rows.
size_t ColumnCount(const Section& section) {
  size_t count = section.header.size();
  for (const auto& row : section.rows) count = std::max(count, row.size());
  return count;
}

// The width of each column of `section` before it is stretched.
std::vector<size_t> ColumnWidths(const Section& section) {
  std::vector<size_t> widths(ColumnCount(section), 0);
  for (size_t i = 0; i < section.header.size(); ++i) {
    widths[i] = std::max(widths[i], section.header[i].size());
  }
  for (const auto& row : section.rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  for (size_t& width : widths) width += kPadLeft + kPadRight;
  return widths;
}

// The width a section needs: its borders, its cells and their separators,
// or its title.
size_t SectionWidth(const Section& section) {
  const std::vector<size_t> widths = ColumnWidths(section);
  size_t cells = 0;
  for (size_t width : widths) cells += width;
  if (!widths.empty()) cells += widths.size() - 1;
  const size_t inner = std::max(cells, section.title.size() + 4);
  return 2 * section.depth + 2 + inner;
}

std::string Center(absl::string_view text, size_t width) {
  const size_t left = (width - text.size()) / 2;
  return absl::StrCat(std::string(left, ' '), text,
                      std::string(width - text.size() - left, ' '));
}

void DrawSection(const Section& section, size_t total_width, std::string* out) {
  const std::string outer(section.depth, '|');
  const size_t inner = total_width - 2 * section.depth - 2;
  std::vector<size_t> widths = ColumnWidths(section);
  size_t used = widths.empty() ? 0 : widths.size() - 1;
  for (size_t width : widths) used += width;
  // The last column takes what is left, so every box is as wide as the
  // widest.
  if (!widths.empty()) widths.back() += inner - used;
  const auto line = [&](absl::string_view left, absl::string_view body,
                        absl::string_view right) {
    absl::StrAppend(out, outer, left, body, right, outer, "\n");
  };
  std::string separator;
  for (size_t i = 0; i < widths.size(); ++i) {
    if (i > 0) separator += '+';
    separator += std::string(widths[i], '-');
  }
  if (widths.empty()) separator = std::string(inner, '-');
  const auto row_text = [&](const std::vector<std::string>& cells,
                            bool center) {
    std::string text;
    for (size_t i = 0; i < widths.size(); ++i) {
      if (i > 0) text += '|';
      const std::string cell = i < cells.size() ? cells[i] : "";
      text += center
                  ? Center(cell, widths[i])
                  : absl::StrCat(
                        std::string(kPadLeft, ' '), cell,
                        std::string(widths[i] - kPadLeft - cell.size(), ' '));
    }
    return text;
  };

  if (section.depth == 0)
    absl::StrAppend(out, std::string(total_width, '-'), "\n");
  line("|", Center(section.title, inner), "|");
  line("+", separator, "+");
  if (!section.header.empty()) {
    line("|", row_text(section.header, /*center=*/true), "|");
    line("+", separator, "+");
  }
  for (const auto& row : section.rows) {
    line("|", row_text(row, /*center=*/false), "|");
  }
  if (!section.rows.empty()) line("+", separator, "+");
}

}  // namespace

std::optional<OutputFormat> ParseOutputFormat(absl::string_view name) {
  if (name == "json") return OutputFormat::kJson;
  if (name == "table") return OutputFormat::kTable;
  if (name == "text") return OutputFormat::kText;
  return std::nullopt;
}

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

std::string FormatText(const google::protobuf::Message& message) {
  std::string out;
  AppendText(message, "", nullptr, &out);
  return out;
}

std::string FormatTextLine(const google::protobuf::Message& message) {
  std::vector<std::string> values;
  const Descriptor* type = message.GetDescriptor();
  for (int i = 0; i < type->field_count(); ++i) {
    const FieldDescriptor* field = type->field(i);
    if (!IsScalar(field)) continue;
    values.push_back(IsSet(message, field) ? ValueText(message, field) : "");
  }
  return absl::StrJoin(values, "\t");
}

std::string FormatTable(const google::protobuf::Message& message,
                        absl::string_view title) {
  std::vector<Section> sections;
  AddMessageSections(message, std::string(title), 0, &sections);
  size_t width = 0;
  for (const Section& section : sections) {
    width = std::max(width, SectionWidth(section));
  }
  std::string out;
  for (const Section& section : sections) DrawSection(section, width, &out);
  return out;
}

absl::Status PrintResponse(const google::protobuf::Message& message,
                           OutputFormat format, absl::string_view operation,
                           std::ostream& out) {
  switch (format) {
    case OutputFormat::kJson:
      return PrintJson(message, out);
    case OutputFormat::kTable:
      out << FormatTable(message, operation) << std::flush;
      return absl::OkStatus();
    case OutputFormat::kText:
      out << FormatText(message) << std::flush;
      return absl::OkStatus();
  }
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
