// The real servicemanager binary driven by `buf curl` (the buf CLI's gRPC
// client) through server reflection only, with no .proto file, as an
// administrator would with grpcurl: list the services and methods, create,
// describe, pause, wait, list the operations, a refused call with App
// Runner's exception name, and the health check. Registered by CMake only
// where buf is installed (tools/install-deps.sh puts it in build-tools/buf).
#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "servicemanager/v1/service_manager.pb.h"
#include "tests/integration/process.h"

namespace {

namespace v1 = ::servicemanager::v1;
using ::servicemanager::testing::ReadFile;
using ::servicemanager::testing::Spawn;
using ::servicemanager::testing::WaitForExit;
using ::servicemanager::testing::WaitForReadyEndpoint;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class BufCurlTest : public ::testing::Test {
 protected:
  struct Run {
    int exit_code = -1;
    std::string out;
    std::string err;
  };

  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat("sm-buf-curl-test-", getpid());
    std::filesystem::create_directories(dir_);
    const std::filesystem::path log = dir_ / "server.log";
    server_ = Spawn({SM_SERVER_BINARY, "--listen", "127.0.0.1:0", "--data-dir",
                     (dir_ / "data").string(), "--worker-delay-ms", "50"},
                    dir_ / "server.out", log);
    ASSERT_GT(server_, 0);
    std::string text;
    const std::optional<std::string> endpoint =
        WaitForReadyEndpoint(log, &text);
    ASSERT_TRUE(endpoint.has_value()) << text;
    base_url_ = absl::StrCat("http://", *endpoint);
  }

  void TearDown() override {
    if (server_ > 0) {
      kill(server_, SIGKILL);
      waitpid(server_, nullptr, 0);
    }
    std::filesystem::remove_all(dir_);
  }

  // Runs `buf curl` over plaintext HTTP/2 with the gRPC protocol, as
  // grpcurl -plaintext does; reflection is buf's default schema source.
  Run BufCurl(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {
        SM_BUF_BINARY, "curl", "--protocol", "grpc", "--http2-prior-knowledge",
        "--timeout",   "30s"};
    argv.insert(argv.end(), args.begin(), args.end());
    const std::filesystem::path out = dir_ / "buf.out";
    const std::filesystem::path err = dir_ / "buf.err";
    // buf keeps a cache; keep it in the test's directory.
    const pid_t pid =
        Spawn(argv, out, err, {"BUF_CACHE_DIR=" + (dir_ / "cache").string()});
    Run run;
    if (pid <= 0) {
      ADD_FAILURE() << "cannot start " << SM_BUF_BINARY;
      return run;
    }
    const std::optional<int> status =
        WaitForExit(pid, std::chrono::seconds(60));
    if (!status.has_value()) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      ADD_FAILURE() << "buf curl did not exit in time";
    } else if (WIFEXITED(*status)) {
      run.exit_code = WEXITSTATUS(*status);
    }
    run.out = ReadFile(out);
    run.err = ReadFile(err);
    return run;
  }

  // Calls servicemanager.v1.ServiceManager/METHOD with `json` and parses
  // the response, failing the test if the call fails.
  template <typename Response>
  Response Call(const std::string& method, const std::string& json) {
    const Run run =
        BufCurl({"-d", json,
                 absl::StrCat(base_url_, "/servicemanager.v1.ServiceManager/",
                              method)});
    EXPECT_EQ(run.exit_code, 0) << method << ": " << run.err;
    Response response;
    EXPECT_TRUE(
        google::protobuf::util::JsonStringToMessage(run.out, &response).ok())
        << method << ": " << run.out;
    return response;
  }

  // WaitOperation until the operation has ended.
  v1::Operation Await(const std::string& operation_id) {
    const auto waited = Call<v1::WaitOperationResponse>(
        "WaitOperation", absl::StrCat(R"({"operation_id":")", operation_id,
                                      R"(","timeout":"20s"})"));
    EXPECT_TRUE(waited.done());
    return waited.operation();
  }

  std::filesystem::path dir_;
  pid_t server_ = -1;
  std::string base_url_;
};

TEST_F(BufCurlTest, DrivesTheServerThroughReflectionOnly) {
  const Run services = BufCurl({"--list-services", base_url_});
  ASSERT_EQ(services.exit_code, 0) << services.err;
  EXPECT_THAT(services.out, HasSubstr("servicemanager.v1.ServiceManager\n"));
  EXPECT_THAT(services.out, HasSubstr("grpc.health.v1.Health\n"));
  const Run methods = BufCurl({"--list-methods", base_url_});
  ASSERT_EQ(methods.exit_code, 0) << methods.err;
  EXPECT_THAT(methods.out,
              HasSubstr("servicemanager.v1.ServiceManager/PauseService\n"));

  const auto created = Call<v1::CreateServiceResponse>(
      "CreateService",
      R"({"service_name":"buf-web","source_configuration":{"image_repository":{)"
      R"("image_identifier":"public.ecr.aws/nginx/nginx:1.27",)"
      R"("image_repository_type":"ECR_PUBLIC"}},)"
      R"("tags":[{"key":"team","value":"web"}]})");
  const std::string arn = created.service().service_arn();
  ASSERT_THAT(arn, HasSubstr(":service/buf-web/"));
  EXPECT_EQ(created.service().status(), v1::OPERATION_IN_PROGRESS);
  EXPECT_EQ(Await(created.operation_id()).status(), v1::SUCCEEDED);

  const std::string by_arn = absl::StrCat(R"({"service_arn":")", arn, R"("})");
  const auto described =
      Call<v1::DescribeServiceResponse>("DescribeService", by_arn);
  EXPECT_EQ(described.service().status(), v1::RUNNING);
  EXPECT_EQ(described.service().service_name(), "buf-web");

  const auto paused = Call<v1::PauseServiceResponse>("PauseService", by_arn);
  EXPECT_EQ(paused.service().status(), v1::OPERATION_IN_PROGRESS);
  ASSERT_FALSE(paused.operation_id().empty());
  EXPECT_EQ(Await(paused.operation_id()).status(), v1::SUCCEEDED);
  EXPECT_EQ(Call<v1::DescribeServiceResponse>("DescribeService", by_arn)
                .service()
                .status(),
            v1::PAUSED);

  const auto listed =
      Call<v1::ListOperationsResponse>("ListOperations", by_arn);
  std::vector<v1::OperationType> types;
  for (const v1::OperationSummary& op : listed.operation_summary_list()) {
    EXPECT_EQ(op.status(), v1::SUCCEEDED);
    types.push_back(op.type());
  }
  EXPECT_THAT(types, ElementsAre(v1::PAUSE_SERVICE, v1::CREATE_SERVICE));
  EXPECT_EQ(listed.operation_summary_list(0).id(), paused.operation_id());

  // A refused call: buf exits with the gRPC code shifted left by 3 and, with
  // -v, shows the trailer that names App Runner's exception.
  const Run again =
      BufCurl({"-v", "-d", by_arn,
               absl::StrCat(base_url_,
                            "/servicemanager.v1.ServiceManager/PauseService")});
  EXPECT_EQ(again.exit_code, 9 << 3) << "FAILED_PRECONDITION\n" << again.err;
  EXPECT_THAT(again.out + again.err, HasSubstr("failed_precondition"));
  EXPECT_THAT(again.err, HasSubstr("X-Amzn-Errortype: InvalidStateException"));

  const Run health =
      BufCurl({"-d", R"({"service":"servicemanager.v1.ServiceManager"})",
               absl::StrCat(base_url_, "/grpc.health.v1.Health/Check")});
  ASSERT_EQ(health.exit_code, 0) << health.err;
  EXPECT_THAT(health.out, HasSubstr(R"("status": "SERVING")"));
}

}  // namespace
