// The real servicemanager binary's security: it refuses a non-loopback
// --listen without TLS and auth (unless --insecure), and serves TLS with
// bearer tokens to the real smctl, with plaintext health for probes.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "auth/principals.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/integration/process.h"
#include "tests/integration/process_fixture.h"
#include "tests/testing/test_ca.h"

namespace {

using ::servicemanager::testing::KeyPair;
using ::servicemanager::testing::ReadFile;
using ::servicemanager::testing::Spawn;
using ::servicemanager::testing::TestCa;
using ::servicemanager::testing::WaitFor;
using ::servicemanager::testing::WaitForExit;
using ::testing::HasSubstr;

constexpr char kToken[] = "operator-token-for-the-process-test";
constexpr char kTeamAccount[] = "444444444444";

class SecurityProcessTest : public ::servicemanager::testing::ProcessFixture {
 protected:
  SecurityProcessTest() : ProcessFixture("sm-security-test") {}

  // Starts the server with `flags` after the data directory.
  void Start(const std::vector<std::string>& flags) {
    std::vector<std::string> argv = {SM_SERVER_BINARY, "--data-dir",
                                     (dir_ / "data").string()};
    argv.insert(argv.end(), flags.begin(), flags.end());
    log_ = dir_ / "server.log";
    pid_ = Spawn(argv, dir_ / "server.out", log_);
    ASSERT_GT(pid_, 0);
  }

  // The port of the first match of `pattern` (one group) in the log, once
  // it appears.
  std::optional<std::string> PortFromLog(const std::string& pattern) {
    const std::regex regex(pattern);
    std::smatch match;
    std::string text;
    if (!WaitFor(
            [&] {
              text = ReadFile(log_);
              return std::regex_search(text, match, regex);
            },
            std::chrono::seconds(20))) {
      ADD_FAILURE() << "no " << pattern << " in:\n" << text;
      return std::nullopt;
    }
    return match[1].str();
  }

  struct Run {
    int exit_code;
    std::string out;
    std::string err;
  };

  Run Smctl(std::vector<std::string> args) {
    args.insert(args.begin(), SM_SMCTL_BINARY);
    const std::filesystem::path out = dir_ / "smctl.out";
    const std::filesystem::path err = dir_ / "smctl.err";
    // The test's own environment may not choose the token.
    pid_t pid = Spawn(args, out, err, {"SERVICEMANAGER_TOKEN="});
    int status = 0;
    waitpid(pid, &status, 0);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, ReadFile(out),
            ReadFile(err)};
  }

  std::filesystem::path log_;
};

TEST_F(SecurityProcessTest, ANonLoopbackListenWithoutTlsAndAuthIsRefused) {
  Start({"--listen", "0.0.0.0:0"});
  std::optional<int> status = WaitForExit(pid_, std::chrono::seconds(20));
  ASSERT_TRUE(status.has_value()) << "the server did not exit";
  pid_ = -1;
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) != 0);
  const std::string log = ReadFile(log_);
  EXPECT_THAT(log, HasSubstr("--listen 0.0.0.0:0 is not a loopback address"));
  EXPECT_THAT(log, HasSubstr("--insecure"));
  EXPECT_THAT(log, ::testing::Not(HasSubstr("ready")));
}

TEST_F(SecurityProcessTest, TlsWithoutAuthIsRefusedToo) {
  TestCa ca(dir_, "ca");
  KeyPair server = ca.IssueServer();
  ASSERT_TRUE(ca.ok());
  Start({"--listen", "0.0.0.0:0", "--tls-cert", server.certificate, "--tls-key",
         server.key});
  std::optional<int> status = WaitForExit(pid_, std::chrono::seconds(20));
  ASSERT_TRUE(status.has_value()) << "the server did not exit";
  pid_ = -1;
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) != 0);
  EXPECT_THAT(ReadFile(log_),
              HasSubstr("no authentication (--auth-tokens-file)"));
}

TEST_F(SecurityProcessTest, InsecureAllowsIt) {
  Start({"--listen", "0.0.0.0:0", "--insecure"});
  std::optional<std::string> port =
      PortFromLog("ready: listening on 0\\.0\\.0\\.0:([0-9]+)");
  ASSERT_TRUE(port.has_value());
  EXPECT_THAT(ReadFile(log_), HasSubstr("--insecure: serving without TLS"));
  Run list =
      Smctl({"--endpoint", absl::StrCat("127.0.0.1:", *port), "list-services"});
  EXPECT_EQ(list.exit_code, 0) << list.err;
}

TEST_F(SecurityProcessTest, SmctlOverTlsWithABearerToken) {
  TestCa ca(dir_, "ca");
  KeyPair server = ca.IssueServer();
  ASSERT_TRUE(ca.ok());
  const std::string tokens = (dir_ / "tokens").string();
  std::ofstream(tokens) << "team " << kTeamAccount << " operator sha256:"
                        << servicemanager::auth::HashToken(kToken) << "\n";
  Start({"--listen", "0.0.0.0:0", "--tls-cert", server.certificate, "--tls-key",
         server.key, "--auth-tokens-file", tokens, "--health-listen",
         "127.0.0.1:0", "--worker-delay-ms", "10"});
  std::optional<std::string> port =
      PortFromLog("ready: listening on 0\\.0\\.0\\.0:([0-9]+) \\(TLS\\)");
  ASSERT_TRUE(port.has_value());
  const std::string endpoint = absl::StrCat("127.0.0.1:", *port);

  Run created = Smctl({"--endpoint", endpoint, "--tls-ca", ca.certificate(),
                       "--token", kToken, "create-service", "--service-name",
                       "web-app", "--source-configuration",
                       R"({"image_repository":{"image_identifier":)"
                       R"("public.ecr.aws/nginx/nginx:latest"}})"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_THAT(created.out, HasSubstr(absl::StrCat(
                               "arn:aws:apprunner:us-east-1:", kTeamAccount,
                               ":service/web-app/")));

  Run without_token = Smctl(
      {"--endpoint", endpoint, "--tls-ca", ca.certificate(), "list-services"});
  EXPECT_EQ(without_token.exit_code, 1);
  EXPECT_THAT(without_token.err, HasSubstr("bearer token"));

  Run plaintext = Smctl({"--endpoint", endpoint, "--token", kToken, "--timeout",
                         "5", "list-services"});
  EXPECT_EQ(plaintext.exit_code, 1) << "plaintext must be refused";

  // The probes' port speaks plaintext and serves health only.
  std::optional<std::string> health_port = PortFromLog(
      "health: serving grpc.health.v1.Health on "
      "127\\.0\\.0\\.1:([0-9]+)");
  ASSERT_TRUE(health_port.has_value());
  auto health = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", *health_port),
                          grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  grpc::health::v1::HealthCheckResponse serving;
  ASSERT_TRUE(health->Check(&context, {}, &serving).ok());
  EXPECT_EQ(serving.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

}  // namespace
