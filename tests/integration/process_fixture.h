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
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "tests/integration/process.h"

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

  // Spawns the server `argv` (with `env` set) as pid_, its stderr in `log`
  // and its stdout in server.out, and waits for its ready line. Returns the
  // address it listens on, or an empty one, with a failure that shows the
  // log, if it never got ready.
  std::string StartServerProcess(const std::vector<std::string>& argv,
                                 const std::filesystem::path& log,
                                 const std::vector<std::string>& env = {}) {
    pid_ = Spawn(argv, dir_ / "server.out", log, env);
    EXPECT_GT(pid_, 0) << "cannot run " << argv.front();
    std::string text;
    const std::optional<std::string> endpoint =
        WaitForReadyEndpoint(log, &text);
    EXPECT_TRUE(endpoint.has_value()) << text;
    return endpoint.value_or("");
  }

  std::filesystem::path dir_;
  pid_t pid_ = -1;

 private:
  static inline int counter_ = 0;
  const std::string name_;
};

}  // namespace servicemanager::testing

#endif  // SERVICEMANAGER_TESTS_INTEGRATION_PROCESS_FIXTURE_H_
