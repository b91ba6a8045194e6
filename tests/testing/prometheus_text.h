// Reads samples out of Prometheus' text exposition format (version 0.0.4), as
// /metrics serves it, so that tests assert on values rather than on the
// order of labels or of lines.
#ifndef SERVICEMANAGER_TESTS_TESTING_PROMETHEUS_TEXT_H_
#define SERVICEMANAGER_TESTS_TESTING_PROMETHEUS_TEXT_H_

#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace servicemanager::testing {

using MetricLabels = std::map<std::string, std::string>;

struct Sample {
  std::string name;
  MetricLabels labels;
  double value = 0;
};

// One sample line: name{label="value",...} value [timestamp]. nullopt for a
// line that is not one.
inline std::optional<Sample> ParseSample(absl::string_view line) {
  Sample sample;
  size_t i = 0;
  while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
  sample.name = std::string(line.substr(0, i));
  if (sample.name.empty()) return std::nullopt;
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (i < line.size() && line[i] != '}') {
      const size_t eq = line.find('=', i);
      if (eq == absl::string_view::npos || eq + 1 >= line.size() ||
          line[eq + 1] != '"') {
        return std::nullopt;
      }
      std::string key(line.substr(i, eq - i));
      std::string value;
      size_t j = eq + 2;
      for (; j < line.size() && line[j] != '"'; ++j) {
        if (line[j] == '\\' && j + 1 < line.size()) {
          ++j;
          value += line[j] == 'n' ? '\n' : line[j];
        } else {
          value += line[j];
        }
      }
      if (j >= line.size()) return std::nullopt;
      sample.labels[key] = value;
      i = j + 1;
      if (i < line.size() && line[i] == ',') ++i;
    }
    if (i >= line.size()) return std::nullopt;
    ++i;  // '}'
  }
  absl::string_view rest = absl::StripLeadingAsciiWhitespace(line.substr(i));
  absl::string_view number = rest.substr(0, rest.find(' '));
  if (number == "Nan" || number == "NaN") {
    sample.value = std::nan("");
  } else if (!absl::SimpleAtod(number, &sample.value)) {
    return std::nullopt;
  }
  return sample;
}

// The value of the sample with exactly these name and labels, if any.
inline std::optional<double> SampleValue(absl::string_view text,
                                         absl::string_view name,
                                         const MetricLabels& labels = {}) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    std::optional<Sample> sample = ParseSample(line);
    if (sample && sample->name == name && sample->labels == labels) {
      return sample->value;
    }
  }
  return std::nullopt;
}

// The families named by "# TYPE name type" lines.
inline std::set<std::string> FamilyNames(absl::string_view text) {
  std::set<std::string> names;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::ConsumePrefix(&line, "# TYPE ")) {
      names.insert(std::string(line.substr(0, line.find(' '))));
    }
  }
  return names;
}

}  // namespace servicemanager::testing

#endif  // SERVICEMANAGER_TESTS_TESTING_PROMETHEUS_TEXT_H_
