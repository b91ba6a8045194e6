// PostgreSQL for tests: whether to use it (SM_TEST_BACKEND=postgres), the
// server's URL, and a fresh schema per test, dropped when it goes.
#ifndef SERVICEMANAGER_TESTS_TESTING_POSTGRES_SCHEMA_H_
#define SERVICEMANAGER_TESTS_TESTING_POSTGRES_SCHEMA_H_

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "pqxx/pqxx"

namespace servicemanager::testing {

inline bool TestBackendIsPostgres() {
  const char* backend = std::getenv("SM_TEST_BACKEND");
  return backend != nullptr && std::string(backend) == "postgres";
}

// SM_TEST_POSTGRES_URL, or else the first line of the file
// SM_TEST_POSTGRES_URL_FILE names; none if neither gives one.
inline std::optional<std::string> TestPostgresUrl() {
  if (const char* url = std::getenv("SM_TEST_POSTGRES_URL");
      url != nullptr && *url != '\0') {
    return std::string(url);
  }
  const char* file = std::getenv("SM_TEST_POSTGRES_URL_FILE");
  if (file == nullptr || *file == '\0') return std::nullopt;
  std::ifstream in(file);
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  line = std::string(absl::StripAsciiWhitespace(line));
  if (line.empty()) return std::nullopt;
  return line;
}

// A schema of its own on the server: sm_test_<pid>_<n>, dropped (with all
// it holds) on destruction. The store connects with url(), whose
// search_path is the schema.
class PostgresSchema {
 public:
  static absl::StatusOr<std::unique_ptr<PostgresSchema>> Create(
      const std::string& server_url) {
    static std::atomic<int> counter = 0;
    const std::string name = absl::StrCat("sm_test_", getpid(), "_", counter++);
    try {
      pqxx::connection c(server_url);
      pqxx::nontransaction t(c);
      t.exec(absl::StrCat("DROP SCHEMA IF EXISTS ", name, " CASCADE"));
      t.exec(absl::StrCat("CREATE SCHEMA ", name));
    } catch (const std::exception& e) {
      return absl::UnavailableError(
          absl::StrCat("cannot create schema ", name, ": ", e.what()));
    }
    return std::unique_ptr<PostgresSchema>(
        new PostgresSchema(server_url, name));
  }

  ~PostgresSchema() {
    try {
      pqxx::connection c(server_url_);
      pqxx::nontransaction t(c);
      t.exec(absl::StrCat("DROP SCHEMA IF EXISTS ", name_, " CASCADE"));
    } catch (const std::exception&) {
      // The server is gone; its data directory goes with it.
    }
  }

  const std::string& name() const { return name_; }
  // The server's URL with libpq's options=-csearch_path=<schema>
  // (percent-encoded, as a URL parameter).
  const std::string& url() const { return url_; }

 private:
  PostgresSchema(std::string server_url, std::string name)
      : server_url_(std::move(server_url)),
        name_(std::move(name)),
        url_(absl::StrCat(
            server_url_, server_url_.find('?') == std::string::npos ? "?" : "&",
            "options=-csearch_path%3D", name_)) {}

  std::string server_url_;
  std::string name_;
  std::string url_;
};

}  // namespace servicemanager::testing

#endif  // SERVICEMANAGER_TESTS_TESTING_POSTGRES_SCHEMA_H_
