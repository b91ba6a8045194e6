// Every smctl subcommand against the real servicemanager binary (127.0.0.1,
// an ephemeral port, a temporary data directory), its output compared with
// golden transcripts in tests/cli/golden/TEST/STEP.txt: the command line, the
// exit status, stdout and stderr.
//
// What differs from run to run is replaced before comparing: service ids
// (<service-1>, numbered in order of appearance, also inside ARNs and
// etags), operation ids (<operation-1>), URL labels (<url-1>), timestamps
// (<time>) and the temporary directory (<dir>). Where a placeholder is
// followed by a table's padding it is padded to the original's width, so that
// tables stay aligned. Page tokens are not replaced: they only hold row
// numbers of the fresh database, which are the same on every run.
//
// To rewrite the golden files after an intended change of the output, run
//   SM_UPDATE_GOLDEN=1 ctest --test-dir build -R SmctlGoldenTest
// (or the smctl_golden_test binary) and review the diff with git.
#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "servicemanager/v1/service_manager.pb.h"
#include "tests/integration/process.h"

namespace {

namespace v1 = ::servicemanager::v1;
using ::servicemanager::testing::ReadFile;
using ::servicemanager::testing::Spawn;
using ::servicemanager::testing::WaitFor;
using ::servicemanager::testing::WaitForExit;
using ::servicemanager::testing::WaitForReadyEndpoint;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kImage[] = "public.ecr.aws/nginx/nginx:1.27";
constexpr char kSource[] =
    R"({"image_repository":{"image_identifier":"public.ecr.aws/nginx/)"
    R"(nginx:1.27","image_repository_type":"ECR_PUBLIC"}})";
constexpr auto kSmctlTimeout = std::chrono::seconds(60);

bool UpdateGolden() {
  const char* update = std::getenv("SM_UPDATE_GOLDEN");
  return update != nullptr && std::string(update) == "1";
}

// Replaces what differs between runs by stable placeholders. One instance
// per test, so that numbering follows the test's own steps.
class Normalizer {
 public:
  explicit Normalizer(std::string dir) : dir_(std::move(dir)) {}

  std::string operator()(std::string text) {
    if (!dir_.empty()) {
      for (size_t at; (at = text.find(dir_)) != std::string::npos;) {
        text.replace(at, dir_.size(), "<dir>");
      }
    }
    text = Replace(text, kOperationId, [this](const std::smatch& m) {
      return Number("operation", operation_ids_, m.str());
    });
    text = Replace(text, kServiceId, [this](const std::smatch& m) {
      return Number("service", service_ids_, m.str());
    });
    // The whole host name, so that a table's padding after it absorbs the
    // change of width.
    text = Replace(text, kUrl, [this](const std::smatch& m) {
      return absl::StrCat(Number("url", url_labels_, m.str(1)),
                          ".us-east-1.servicemanager.local");
    });
    text = Replace(text, kTime, [](const std::smatch&) { return "<time>"; });
    // An etag is REVISION-(the first 8 characters of the service id).
    text = Replace(text, kEtag, [this](const std::smatch& m) {
      for (const auto& [id, number] : service_ids_) {
        if (id.rfind(m.str(2), 0) == 0) {
          return absl::StrCat(m.str(1), "-<service-", number, "-prefix>");
        }
      }
      return absl::StrCat(m.str(1), "-<unknown-prefix>");
    });
    return text;
  }

 private:
  static std::string Number(absl::string_view kind,
                            std::map<std::string, int>& numbers,
                            const std::string& value) {
    auto [it, inserted] = numbers.emplace(value, numbers.size() + 1);
    return absl::StrCat("<", kind, "-", it->second, ">");
  }

  // Replaces each match of `pattern` with `placeholder(match)`. If two or
  // more spaces follow the match (a table cell's padding), the placeholder
  // takes their place too, padded to the same width.
  static std::string Replace(
      const std::string& text, const std::regex& pattern,
      const std::function<std::string(const std::smatch&)>& placeholder) {
    std::string out;
    auto rest = text.cbegin();
    for (std::sregex_iterator it(text.begin(), text.end(), pattern), end;
         it != end; ++it) {
      const std::smatch& match = *it;
      out.append(rest, match[0].first);
      std::string replacement = placeholder(match);
      rest = match[0].second;
      auto after = rest;
      while (after != text.cend() && *after == ' ') ++after;
      const size_t spaces = after - rest;
      if (spaces >= 2) {
        const size_t width = match.length(0) + spaces;
        replacement.resize(std::max(width, replacement.size() + 2), ' ');
        rest = after;
      }
      out += replacement;
    }
    out.append(rest, text.cend());
    return out;
  }

  inline static const std::regex kOperationId{
      "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"};
  inline static const std::regex kServiceId{"\\b[0-9a-f]{32}\\b"};
  inline static const std::regex kUrl{
      "\\b([0-9a-z]{10})\\.us-east-1\\.servicemanager\\.local\\b"};
  inline static const std::regex kTime{
      "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?Z"};
  inline static const std::regex kEtag{"\\b(\\d+)-([0-9a-f]{8})\\b"};

  const std::string dir_;
  std::map<std::string, int> operation_ids_;
  std::map<std::string, int> service_ids_;
  std::map<std::string, int> url_labels_;
};

// An argument as a shell would need it.
std::string Quote(const std::string& arg) {
  static const std::regex kPlain("[A-Za-z0-9_./:=,@+%-]+");
  if (std::regex_match(arg, kPlain)) return arg;
  std::string quoted = "'";
  for (char c : arg) {
    quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  }
  return quoted + "'";
}

class SmctlGoldenTest : public ::testing::Test {
 protected:
  struct Run {
    int exit_code = -1;
    std::string out;
    std::string err;
  };

  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat("sm-golden-test-", getpid(), "-", counter_++);
    std::filesystem::create_directories(dir_);
    normalize_.emplace(dir_.string());
  }

  void TearDown() override {
    if (server_ > 0) {
      kill(server_, SIGKILL);
      waitpid(server_, nullptr, 0);
    }
    std::filesystem::remove_all(dir_);
  }

  void StartServer(int worker_delay_ms) {
    const std::filesystem::path log = dir_ / "server.log";
    server_ = Spawn({SM_SERVER_BINARY, "--listen", "127.0.0.1:0", "--data-dir",
                     (dir_ / "data").string(), "--worker-delay-ms",
                     std::to_string(worker_delay_ms)},
                    dir_ / "server.out", log);
    ASSERT_GT(server_, 0);
    std::string text;
    const std::optional<std::string> endpoint =
        WaitForReadyEndpoint(log, &text);
    ASSERT_TRUE(endpoint.has_value()) << text;
    endpoint_ = *endpoint;
  }

  // Starts smctl with `args`, the server's endpoint in its environment;
  // its output goes to files named after `name`.
  pid_t StartSmctl(const std::string& name,
                   const std::vector<std::string>& args) {
    std::vector<std::string> argv = {SM_SMCTL_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    return Spawn(argv, dir_ / (name + ".out"), dir_ / (name + ".err"),
                 {"SERVICEMANAGER_ENDPOINT=" + endpoint_});
  }

  // Waits for the smctl started as `name` to exit, and returns its run.
  Run FinishSmctl(const std::string& name, pid_t pid) {
    Run run;
    std::optional<int> status = WaitForExit(pid, kSmctlTimeout);
    if (!status.has_value()) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      ADD_FAILURE() << "smctl " << name << " did not exit in time";
    } else if (WIFEXITED(*status)) {
      run.exit_code = WEXITSTATUS(*status);
    }
    run.out = ReadFile(dir_ / (name + ".out"));
    run.err = ReadFile(dir_ / (name + ".err"));
    return run;
  }

  Run Smctl(const std::vector<std::string>& args) {
    return FinishSmctl("smctl", StartSmctl("smctl", args));
  }

  // Compares the transcript of `run` with golden/TEST/NAME.txt, or writes
  // it with SM_UPDATE_GOLDEN=1.
  void ExpectGolden(const std::string& name,
                    const std::vector<std::string>& args, const Run& run) {
    std::vector<std::string> quoted = {"smctl"};
    for (const std::string& arg : args) quoted.push_back(Quote(arg));
    std::string transcript =
        absl::StrCat("$ ", absl::StrJoin(quoted, " "), "\n--- exit status ",
                     run.exit_code, "\n");
    if (!run.out.empty()) absl::StrAppend(&transcript, "--- stdout\n", run.out);
    if (!run.err.empty()) absl::StrAppend(&transcript, "--- stderr\n", run.err);
    transcript = (*normalize_)(transcript);

    const std::filesystem::path golden =
        std::filesystem::path(SM_GOLDEN_DIR) /
        ::testing::UnitTest::GetInstance()->current_test_info()->name() /
        (name + ".txt");
    if (UpdateGolden()) {
      std::filesystem::create_directories(golden.parent_path());
      std::ofstream(golden) << transcript;
      return;
    }
    ASSERT_TRUE(std::filesystem::exists(golden))
        << golden << " is missing; SM_UPDATE_GOLDEN=1 writes it. Output:\n"
        << transcript;
    EXPECT_EQ(ReadFile(golden), transcript) << "golden file " << golden;
  }

  // Runs smctl, checks its exit status and compares its transcript with the
  // golden file NAME.txt.
  Run Golden(const std::string& name, const std::vector<std::string>& args,
             int exit_code = 0) {
    Run run = Smctl(args);
    EXPECT_EQ(run.exit_code, exit_code) << name << ": " << run.err;
    ExpectGolden(name, args, run);
    return run;
  }

  template <typename Message>
  static Message Parse(const std::string& json) {
    Message message;
    EXPECT_TRUE(
        google::protobuf::util::JsonStringToMessage(json, &message).ok())
        << json;
    return message;
  }

  // Creates a service from kSource and waits until it runs; its ARN.
  std::string CreateRunning(const std::string& name) {
    Run created = Smctl({"create-service", "--service-name", name,
                         "--source-configuration", kSource, "--wait"});
    EXPECT_EQ(created.exit_code, 0) << created.err;
    return Parse<v1::CreateServiceResponse>(created.out)
        .service()
        .service_arn();
  }

  // Starts watch-service with `args` and waits for its first line.
  pid_t StartWatch(const std::vector<std::string>& args) {
    const pid_t pid = StartSmctl("watch", args);
    EXPECT_GT(pid, 0);
    EXPECT_TRUE(WaitFor([&] { return !ReadFile(dir_ / "watch.out").empty(); },
                        std::chrono::seconds(20)))
        << ReadFile(dir_ / "watch.err");
    return pid;
  }

  static inline int counter_ = 0;
  std::filesystem::path dir_;
  std::optional<Normalizer> normalize_;
  pid_t server_ = -1;
  std::string endpoint_;
};

TEST_F(SmctlGoldenTest, EverySubcommand) {
  StartServer(/*worker_delay_ms=*/50);
  Golden("help", {"--help"});
  const Run created =
      Golden("create-service",
             {"create-service", "--service-name", "golden-web",
              "--source-configuration", kSource, "--instance-configuration",
              R"({"cpu":"1 vCPU","memory":"2 GB"})", "--tags",
              "Key=team,Value=web", "--wait"});
  const std::string arn =
      Parse<v1::CreateServiceResponse>(created.out).service().service_arn();
  ASSERT_FALSE(arn.empty());
  Golden("describe-service", {"describe-service", "--service-arn", arn});
  Golden("list-services", {"list-services"});

  Golden("tag-resource", {"tag-resource", "--resource-arn", arn, "--tags",
                          "Key=env,Value=prod", "Key=owner,Value=ops"});
  Golden("untag-resource",
         {"untag-resource", "--resource-arn", arn, "--tag-keys", "owner"});
  Golden("list-tags-for-resource",
         {"list-tags-for-resource", "--resource-arn", arn});

  const Run connection =
      Golden("create-connection",
             {"create-connection", "--connection-name", "golden-github",
              "--provider-type", "GITHUB", "--tags", "Key=team,Value=web"});
  const std::string connection_arn =
      Parse<v1::CreateConnectionResponse>(connection.out)
          .connection()
          .connection_arn();
  ASSERT_FALSE(connection_arn.empty());
  Golden("list-connections", {"list-connections", "--output", "text"});
  Golden("list-tags-for-resource-connection",
         {"list-tags-for-resource", "--resource-arn", connection_arn});
  Golden("associate-custom-domain",
         {"associate-custom-domain", "--service-arn", arn, "--domain-name",
          "golden.example.com", "--enable-www-subdomain"});
  Golden("describe-custom-domains", {"describe-custom-domains", "--service-arn",
                                     arn, "--output", "table"});
  Golden("disassociate-custom-domain",
         {"disassociate-custom-domain", "--service-arn", arn, "--domain-name",
          "golden.example.com"});
  Golden("delete-connection",
         {"delete-connection", "--connection-arn", connection_arn});

  Golden("update-service",
         {"update-service", "--service-arn", arn, "--instance-configuration",
          R"({"cpu":"2 vCPU","memory":"4 GB"})", "--wait"});
  Golden("notify-source-version",
         {"notify-source-version", "--service-arn", arn, "--image-identifier",
          "public.ecr.aws/nginx/nginx:1.28", "--wait"});
  Golden("start-deployment",
         {"start-deployment", "--service-arn", arn, "--wait"});

  Golden("pause-service-validate-only",
         {"pause-service", "--service-arn", arn, "--validate-only"});
  const Run paused =
      Golden("pause-service", {"pause-service", "--service-arn", arn,
                               "--client-token", "golden-pause", "--wait"});
  Golden("pause-service-retried", {"pause-service", "--service-arn", arn,
                                   "--client-token", "golden-pause"});
  const std::string pause_id =
      Parse<v1::PauseServiceResponse>(paused.out).operation_id();
  Golden("describe-operation",
         {"describe-operation", "--operation-id", pause_id});
  Golden("wait-operation",
         {"wait-operation", "--operation-id", pause_id, "--max-wait", "5"});
  Golden("cancel-operation-ended",
         {"cancel-operation", "--operation-id", pause_id}, 1);

  const std::string etag =
      Parse<v1::DescribeServiceResponse>(
          Smctl({"describe-service", "--service-arn", arn}).out)
          .service()
          .etag();
  Golden("resume-service",
         {"resume-service", "--service-arn", arn, "--etag", etag, "--wait"});
  Golden("list-operations", {"list-operations", "--service-arn", arn});

  // The watch sees the service as it is, then each change of the delete.
  const std::vector<std::string> watch = {"watch-service", "--service-arn",
                                          arn};
  const pid_t watcher = StartWatch(watch);
  Golden("delete-service", {"delete-service", "--service-arn", arn, "--wait"});
  ExpectGolden("watch-service", watch, FinishSmctl("watch", watcher));

  Golden("describe-service-deleted",
         {"describe-service", "--service-arn", arn});
  Golden("list-services-empty", {"list-services"});
  Golden("list-services-show-deleted", {"list-services", "--show-deleted"});
}

TEST_F(SmctlGoldenTest, CancelAndWaitOnAnOpenOperation) {
  // Operations stay IN_PROGRESS for a minute, longer than the test.
  StartServer(/*worker_delay_ms=*/60000);
  const Run created =
      Smctl({"create-service", "--service-name", "cancelled-web",
             "--source-configuration", kSource});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const auto create = Parse<v1::CreateServiceResponse>(created.out);
  const std::string id = create.operation_id();
  ASSERT_TRUE(WaitFor(
      [&] {
        return Parse<v1::DescribeOperationResponse>(
                   Smctl({"describe-operation", "--operation-id", id}).out)
                   .operation()
                   .status() == v1::IN_PROGRESS;
      },
      std::chrono::seconds(20)));

  Golden("wait-operation-not-done",
         {"wait-operation", "--operation-id", id, "--max-wait", "0"});
  Golden("cancel-operation", {"cancel-operation", "--operation-id", id});
  Golden("wait-operation-rolled-back",
         {"wait-operation", "--operation-id", id, "--max-wait", "30"});
  Golden("describe-service-create-failed",
         {"describe-service", "--service-arn", create.service().service_arn(),
          "--output", "text"});
}

TEST_F(SmctlGoldenTest, OutputFormats) {
  StartServer(/*worker_delay_ms=*/50);
  const Run created = Golden(
      "create-service-text",
      {"create-service", "--service-name", "format-web",
       "--source-configuration",
       R"({"image_repository":{"image_identifier":"public.ecr.aws/nginx/)"
       R"(nginx:1.27","image_configuration":{"port":"80",)"
       R"("runtime_environment_variables":{"LOG_LEVEL":"debug","MODE":"a b"}}}})",
       "--wait", "--output", "text"});
  // The text line of the response is its operation id; SERVICE's 4th field
  // is the ARN.
  std::string arn;
  for (absl::string_view line : absl::StrSplit(created.out, '\n')) {
    std::vector<std::string> fields = absl::StrSplit(line, '\t');
    if (fields.size() > 3 && fields[0] == "SERVICE") arn = fields[3];
  }
  ASSERT_FALSE(arn.empty()) << created.out;

  Golden("describe-service-table",
         {"describe-service", "--service-arn", arn, "--output", "table"});
  Golden("describe-service-text",
         {"describe-service", "--service-arn", arn, "--output", "text"});
  ASSERT_EQ(Smctl({"pause-service", "--service-arn", arn, "--wait"}).exit_code,
            0);
  ASSERT_EQ(Smctl({"resume-service", "--service-arn", arn, "--wait"}).exit_code,
            0);
  // --output may come before the subcommand too.
  Golden("list-operations-table",
         {"--output", "table", "list-operations", "--service-arn", arn});
  Golden("list-operations-text",
         {"--output", "text", "list-operations", "--service-arn", arn});
  Golden("list-services-text", {"list-services", "--output", "text"});
  Golden("tag-resource-text",
         {"tag-resource", "--resource-arn", arn, "--tags", "Key=team,Value=web",
          "Key=env,Value=prod", "--output", "text"});
  Golden(
      "list-tags-for-resource-table",
      {"list-tags-for-resource", "--resource-arn", arn, "--output", "table"});
  Golden("list-tags-for-resource-text",
         {"list-tags-for-resource", "--resource-arn", arn, "--output", "text"});

  const std::vector<std::string> watch = {"watch-service", "--service-arn", arn,
                                          "--output", "text"};
  const pid_t watcher = StartWatch(watch);
  Golden("delete-service-table", {"delete-service", "--service-arn", arn,
                                  "--wait", "--output", "table"});
  ExpectGolden("watch-service-text", watch, FinishSmctl("watch", watcher));
}

TEST_F(SmctlGoldenTest, CliInputJson) {
  StartServer(/*worker_delay_ms=*/50);
  // App Runner's own spelling, as `aws apprunner create-service
  // --cli-input-json` takes it.
  const Run created = Golden("create-service-pascal-case",
                             {"create-service", "--cli-input-json",
                              R"({"ServiceName": "json-web",
  "SourceConfiguration": {
    "AutoDeploymentsEnabled": false,
    "ImageRepository": {
      "ImageIdentifier": "public.ecr.aws/nginx/nginx:1.27",
      "ImageRepositoryType": "ECR_PUBLIC",
      "ImageConfiguration": {"Port": "80",
                             "RuntimeEnvironmentVariables": {"LogLevel": "debug"}}}},
  "InstanceConfiguration": {"Cpu": "0.25 vCPU", "Memory": "0.5 GB"},
  "HealthCheckConfiguration": {"Protocol": "HTTP", "Path": "/healthz"},
  "Tags": [{"Key": "team", "Value": "web"}]})",
                              "--wait"});
  const std::string arn =
      Parse<v1::CreateServiceResponse>(created.out).service().service_arn();
  ASSERT_FALSE(arn.empty());

  const std::filesystem::path input = dir_ / "describe.json";
  std::ofstream(input) << "{\"service_arn\": \"" << arn << "\"}\n";
  Golden("describe-service-from-file",
         {"describe-service", "--cli-input-json", "file://" + input.string(),
          "--output", "text"});
  // An option replaces the same field of the JSON.
  Golden("option-replaces-json-field",
         {"describe-service", "--cli-input-json",
          R"({"serviceArn": "arn:aws:apprunner:us-east-1:000000000000:)"
          R"(service/other-web/00000000000000000000000000000000"})",
          "--service-arn", arn, "--output", "text"});
  Golden("tags-from-option-and-arn-from-json",
         {"tag-resource", "--cli-input-json",
          absl::StrCat(R"({"resourceArn": ")", arn,
                       R"(", "tags": [{"key": "json", "value": "lost"}]})"),
          "--tags", "Key=option,Value=kept"});
  Golden("list-tags-for-resource",
         {"list-tags-for-resource", "--cli-input-json",
          absl::StrCat(R"({"ResourceArn": ")", arn, R"("})")});
  Golden("wait-operation-duration",
         {"wait-operation", "--cli-input-json",
          absl::StrCat(
              R"({"operationId": ")",
              Parse<v1::CreateServiceResponse>(created.out).operation_id(),
              R"(", "timeout": "1.5s"})"),
          "--output", "text"});

  Golden("missing-required", {"pause-service", "--cli-input-json", "{}"}, 2);
  Golden("invalid-json", {"pause-service", "--cli-input-json", "{\"Service"},
         2);
  Golden("unknown-field",
         {"create-service", "--cli-input-json",
          R"({"ServiceName": "x-web", "NetworkConfiguration": {}})"},
         2);
  Golden("missing-file",
         {"describe-service", "--cli-input-json",
          "file://" + (dir_ / "absent.json").string()},
         2);
}

TEST_F(SmctlGoldenTest, Pagination) {
  StartServer(/*worker_delay_ms=*/50);
  const std::string first = CreateRunning("page-web-1");
  CreateRunning("page-web-2");
  CreateRunning("page-web-3");

  Golden("list-services-every-page", {"list-services", "--max-results", "1"});
  const Run page =
      Golden("list-services-first-page",
             {"list-services", "--max-results", "1", "--no-paginate"});
  const std::string token =
      Parse<v1::ListServicesResponse>(page.out).next_token();
  ASSERT_FALSE(token.empty());
  Golden("list-services-from-token",
         {"list-services", "--max-results", "1", "--starting-token", token});
  Golden("list-services-one-page-from-token",
         {"list-services", "--max-results", "2", "--next-token", token,
          "--no-paginate", "--output", "text"});
  Golden("list-services-bad-token",
         {"list-services", "--starting-token", "bm90LWEtdG9rZW4"}, 1);

  ASSERT_EQ(
      Smctl({"pause-service", "--service-arn", first, "--wait"}).exit_code, 0);
  ASSERT_EQ(
      Smctl({"resume-service", "--service-arn", first, "--wait"}).exit_code, 0);
  Golden("list-operations-every-page",
         {"list-operations", "--service-arn", first, "--max-results", "1",
          "--output", "text"});
  Golden("list-operations-first-page",
         {"list-operations", "--service-arn", first, "--max-results", "1",
          "--no-paginate"});
}

TEST_F(SmctlGoldenTest, ExitCodes) {
  StartServer(/*worker_delay_ms=*/50);
  const std::string arn = CreateRunning("exit-web");
  ASSERT_EQ(Smctl({"pause-service", "--service-arn", arn, "--wait"}).exit_code,
            0);
  const Run again = Golden("api-error-invalid-state",
                           {"pause-service", "--service-arn", arn}, 1);
  EXPECT_THAT(again.err,
              StartsWith("An error occurred (InvalidStateException) when "
                         "calling the PauseService operation: "));
  Golden("api-error-not-found",
         {"describe-service", "--service-arn",
          "arn:aws:apprunner:us-east-1:000000000000:service/exit-web/"
          "00000000000000000000000000000000"},
         1);
  Golden("api-error-invalid-request",
         {"list-services", "--max-results", "1000"}, 1);

  Golden("usage-no-subcommand", {}, 2);
  Golden("usage-unknown-subcommand", {"pause-services"}, 2);
  Golden("usage-missing-option", {"pause-service"}, 2);
  Golden("usage-unknown-option",
         {"pause-service", "--service-arn", arn, "--force"}, 2);
  Golden("usage-bad-output", {"list-services", "--output", "yaml"}, 2);
  Golden("usage-bad-tag",
         {"tag-resource", "--resource-arn", arn, "--tags", "team=web"}, 2);
  Golden("usage-bad-json",
         {"update-service", "--service-arn", arn, "--instance-configuration",
          "{\"cpu\":"},
         2);
  Golden("usage-bad-timeout", {"list-services", "--timeout", "0"}, 2);
  Golden("pause-service-help", {"pause-service", "--help"});
  Golden("list-services-help", {"list-services", "--help"});
  Golden("create-service-help", {"create-service", "--help"});

  // No server: exit 1 with gRPC's code, whose message varies.
  const Run unreachable =
      Smctl({"list-services", "--endpoint", "127.0.0.1:1", "--timeout", "5"});
  EXPECT_EQ(unreachable.exit_code, 1);
  EXPECT_THAT(unreachable.err,
              StartsWith("An error occurred (UNAVAILABLE) when calling the "
                         "ListServices operation: "));
}

}  // namespace
