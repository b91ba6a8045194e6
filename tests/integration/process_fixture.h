// A fixture for tests that run the server binary: each test gets a scratch
// directory of its own, and the process it started (pid_) is killed and the
// directory removed when the test ends, whatever it asserted.
#ifndef SERVICEMANAGER_TESTS_INTEGRATION_PROCESS_FIXTURE_H_
#define SERVICEMANAGER_TESTS_INTEGRATION_PROCESS_FIXTURE_H_

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <utility>

#include "gtest/gtest.h"

namespace servicemanager::testing {

class ProcessFixture : public ::testing::Test {
 protected:
  // `name` starts the scratch directories' names, as "NAME-PID-N".
  explicit ProcessFixture(std::string name) : name_(std::move(name)) {}

  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           (name_ + "-" + std::to_string(getpid()) + "-" +
            std::to_string(counter_++));
    std::filesystem::create_directories(dir_);
  }

  void TearDown() override {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    std::filesystem::remove_all(dir_);
  }

  std::filesystem::path dir_;
  pid_t pid_ = -1;

 private:
  static inline int counter_ = 0;
  const std::string name_;
};

}  // namespace servicemanager::testing

#endif  // SERVICEMANAGER_TESTS_INTEGRATION_PROCESS_FIXTURE_H_
