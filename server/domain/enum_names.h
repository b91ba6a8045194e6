// Lookup in a table of (enumerator, App Runner name) pairs, both ways.
#ifndef SERVICEMANAGER_SERVER_DOMAIN_ENUM_NAMES_H_
#define SERVICEMANAGER_SERVER_DOMAIN_ENUM_NAMES_H_

#include <array>
#include <cstddef>
#include <optional>
#include <utility>

#include "absl/strings/string_view.h"

namespace servicemanager::domain {

template <typename Enum, std::size_t N>
using EnumNames = std::array<std::pair<Enum, absl::string_view>, N>;

template <typename Enum, std::size_t N>
absl::string_view NameOf(const EnumNames<Enum, N>& table, Enum value) {
  for (const auto& [v, name] : table) {
    if (v == value) {
      return name;
    }
  }
  return "UNKNOWN";
}

template <typename Enum, std::size_t N>
std::optional<Enum> ValueOf(const EnumNames<Enum, N>& table,
                            absl::string_view text) {
  for (const auto& [v, name] : table) {
    if (name == text) {
      return v;
    }
  }
  return std::nullopt;
}

}  // namespace servicemanager::domain

#endif  // SERVICEMANAGER_SERVER_DOMAIN_ENUM_NAMES_H_
