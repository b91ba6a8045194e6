// Helpers for tests that run the real binaries: spawn with redirected output
// and extra environment, wait for a condition, a server's ready line or an
// exit, read a file.
#ifndef SERVICEMANAGER_TESTS_INTEGRATION_PROCESS_H_
#define SERVICEMANAGER_TESTS_INTEGRATION_PROCESS_H_

#include <fcntl.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

extern char** environ;

namespace servicemanager::testing {

// Polls `done` until it holds or `timeout` passes; returns whether it held.
inline bool WaitFor(const std::function<bool()>& done,
                    std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

inline std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The address ("127.0.0.1:PORT") that a server started with --listen
// 127.0.0.1:0 reports in its log `log` ("ready: listening on ..."), once it
// does within `timeout`; nullopt if it does not. `text`, if given, gets the
// log as last read.
inline std::optional<std::string> WaitForReadyEndpoint(
    const std::filesystem::path& log, std::string* text = nullptr,
    std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  const std::regex ready("ready: listening on (127\\.0\\.0\\.1:[0-9]+)");
  std::smatch match;
  std::string read;
  const bool up = WaitFor(
      [&] {
        read = ReadFile(log);
        return std::regex_search(read, match, ready);
      },
      timeout);
  std::optional<std::string> endpoint;
  if (up) {
    endpoint = match[1].str();
  }
  if (text != nullptr) {
    *text = std::move(read);
  }
  return endpoint;
}

// Runs a program with stdout and stderr sent to files, in this process's
// environment with `env` ("NAME=value") set; returns its pid, or -1.
inline pid_t Spawn(const std::vector<std::string>& argv,
                   const std::filesystem::path& out,
                   const std::filesystem::path& err,
                   const std::vector<std::string>& env = {}) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> args;
  for (const std::string& arg : argv) {
    args.push_back(const_cast<char*>(arg.c_str()));
  }
  args.push_back(nullptr);
  // Ours replace any inherited variable of the same name.
  const auto overridden = [&env](const char* inherited) {
    for (const std::string& e : env) {
      const std::string name = e.substr(0, e.find('=') + 1);
      if (std::string(inherited).rfind(name, 0) == 0) {
        return true;
      }
    }
    return false;
  };
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e) {
    if (!overridden(*e)) {
      envp.push_back(*e);
    }
  }
  for (const std::string& e : env) {
    envp.push_back(const_cast<char*>(e.c_str()));
  }
  envp.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, argv[0].c_str(), &actions, nullptr, args.data(),
                       envp.data());
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

// Waits up to `timeout` for `pid` to end; its wait status, or nullopt if it
// is still running.
inline std::optional<int> WaitForExit(pid_t pid,
                                      std::chrono::milliseconds timeout) {
  std::optional<int> result;
  WaitFor(
      [&] {
        int status = 0;
        if (waitpid(pid, &status, WNOHANG) == pid) {
          result = status;
        }
        return result.has_value();
      },
      timeout);
  return result;
}

}  // namespace servicemanager::testing

#endif  // SERVICEMANAGER_TESTS_INTEGRATION_PROCESS_H_
