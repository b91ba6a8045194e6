// A fresh directory under the system's temporary directory, removed with
// everything in it when the object goes. Shared by store_test and
// worker_test.
#ifndef SERVICEMANAGER_TESTS_STORE_TEMP_DIR_H_
#define SERVICEMANAGER_TESTS_STORE_TEMP_DIR_H_

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

namespace servicemanager::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "sm_test_XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed for " + pattern);
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // A path inside the directory.
  std::string File(const std::string& name) const {
    return (path_ / name).string();
  }

 private:
  std::filesystem::path path_;
};

}  // namespace servicemanager::testing

#endif  // SERVICEMANAGER_TESTS_STORE_TEMP_DIR_H_
