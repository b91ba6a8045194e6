// The real servicemanager binary with --runtime podman against a Podman
// service this test starts on its own unix socket, with private storage in a
// temporary directory (nothing touches the host's images or containers).
// Skipped where podman or busybox-static is missing.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "runtime/unix_http_client.h"
#include "servicemanager/v1/service_manager.grpc.pb.h"
#include "tests/integration/process.h"

namespace {

namespace v1 = ::servicemanager::v1;
using ::servicemanager::runtime::HttpGet;
using ::servicemanager::runtime::UnixHttpClient;
using ::servicemanager::testing::ReadFile;
using ::servicemanager::testing::Spawn;
using ::servicemanager::testing::WaitFor;
using ::servicemanager::testing::WaitForExit;
using ::servicemanager::testing::WaitForReadyEndpoint;

constexpr char kPodman[] = "/usr/bin/podman";
constexpr char kBusybox[] = "/bin/busybox";
constexpr char kApi[] = "/v4.0.0/libpod";

class PodmanEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kPodman) ||
        !std::filesystem::exists(kBusybox) || geteuid() != 0) {
      GTEST_SKIP() << "needs root, podman (" << kPodman << ") and "
                   << "busybox-static (" << kBusybox
                   << "): apt-get install podman runc busybox-static";
    }
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat("sm-podman-e2e-", getpid());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    socket_ = (dir_ / "podman.sock").string();
    podman_pid_ = Spawn(Podman({"system", "service", "--time=0",
                                absl::StrCat("unix://", socket_)}),
                        dir_ / "podman.out", dir_ / "podman.log");
    ASSERT_GT(podman_pid_, 0);
    http_ = std::make_unique<UnixHttpClient>(socket_);
    ASSERT_TRUE(WaitFor(
        [&] {
          auto ping = http_->Call("GET", absl::StrCat(kApi, "/_ping"), "",
                                  absl::Seconds(2));
          return ping.ok() && ping->status == 200;
        },
        std::chrono::seconds(30)))
        << ReadFile(dir_ / "podman.log");
    // A port range of this test's own, so that parallel runs do not meet.
    first_port_ = 21000 + (getpid() % 1000) * 10;
  }

  void TearDown() override {
    if (server_pid_ > 0) {
      kill(server_pid_, SIGKILL);
      waitpid(server_pid_, nullptr, 0);
    }
    if (podman_pid_ > 0) {
      RunPodman({"rm", "--force", "--all", "--time", "0"});
      kill(podman_pid_, SIGTERM);
      if (!WaitForExit(podman_pid_, std::chrono::seconds(10))) {
        kill(podman_pid_, SIGKILL);
        waitpid(podman_pid_, nullptr, 0);
      }
    }
    std::filesystem::remove_all(dir_);
  }

  std::vector<std::string> Podman(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {kPodman,
                                     "--storage-driver",
                                     "vfs",
                                     "--runtime",
                                     "runc",
                                     "--cgroup-manager",
                                     "cgroupfs",
                                     "--root",
                                     (dir_ / "root").string(),
                                     "--runroot",
                                     (dir_ / "run").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  // Runs the podman CLI on the test's storage; its exit code.
  int RunPodman(const std::vector<std::string>& args) {
    const pid_t pid = Spawn(Podman(args), dir_ / "cli.out", dir_ / "cli.err");
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  // Builds localhost/hello:`version`, whose web server answers `version`.
  void BuildImage(const std::string& version) {
    const std::filesystem::path context = dir_ / absl::StrCat("img-", version);
    std::filesystem::create_directories(context);
    std::filesystem::copy_file(kBusybox, context / "busybox");
    std::ofstream(context / "index.html") << version << "\n";
    std::ofstream(context / "Containerfile")
        << "FROM scratch\nCOPY busybox /bin/busybox\n"
           "COPY index.html /www/index.html\nEXPOSE 8080\n"
           "CMD [\"/bin/busybox\",\"httpd\",\"-f\",\"-p\",\"8080\",\"-h\","
           "\"/www\"]\n";
    ASSERT_EQ(RunPodman({"build", "-q", "-t",
                         absl::StrCat("localhost/hello:", version),
                         context.string()}),
              0)
        << ReadFile(dir_ / "cli.err");
  }

  void StartServer() {
    const std::filesystem::path log =
        dir_ / absl::StrCat("server-", ++runs_, ".log");
    server_pid_ =
        Spawn({SM_SERVER_BINARY, "--listen", "127.0.0.1:0", "--data-dir",
               (dir_ / "data").string(), "--worker-delay-ms", "0", "--runtime",
               "podman", "--podman-socket", socket_, "--port-range",
               absl::StrCat(first_port_, "-", first_port_ + 9)},
              dir_ / "server.out", log);
    ASSERT_GT(server_pid_, 0);
    std::string text;
    const std::optional<std::string> endpoint =
        WaitForReadyEndpoint(log, &text, std::chrono::seconds(30));
    ASSERT_TRUE(endpoint.has_value()) << text;
    stub_ = v1::ServiceManager::NewStub(
        grpc::CreateChannel(*endpoint, grpc::InsecureChannelCredentials()));
  }

  void KillServer() {
    ASSERT_EQ(kill(server_pid_, SIGKILL), 0);
    waitpid(server_pid_, nullptr, 0);
    server_pid_ = -1;
  }

  std::string ServerLog() {
    return ReadFile(dir_ / absl::StrCat("server-", runs_, ".log"));
  }

  v1::Service Describe(const std::string& arn) {
    grpc::ClientContext context;
    v1::DescribeServiceRequest request;
    request.set_service_arn(arn);
    v1::DescribeServiceResponse response;
    const grpc::Status status =
        stub_->DescribeService(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.service();
  }

  // Waits for the operation to end; its final status.
  v1::OperationStatus Wait(const std::string& operation_id) {
    const v1::Operation operation = WaitEnded(operation_id);
    EXPECT_EQ(operation.error().message(), "");
    return operation.status();
  }

  v1::Operation WaitEnded(const std::string& operation_id) {
    v1::WaitOperationResponse response;
    for (int i = 0; i < 3 && !response.done(); ++i) {
      grpc::ClientContext context;
      v1::WaitOperationRequest request;
      request.set_operation_id(operation_id);
      request.mutable_timeout()->set_seconds(60);
      const grpc::Status status =
          stub_->WaitOperation(&context, request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
    }
    EXPECT_TRUE(response.done()) << ServerLog();
    return response.operation();
  }

  // Calls an RPC that starts an operation on `arn`; its operation id.
  template <typename Request, typename Response>
  std::string Start(grpc::Status (v1::ServiceManager::Stub::*method)(
                        grpc::ClientContext*, const Request&, Response*),
                    const std::string& arn) {
    grpc::ClientContext context;
    Request request;
    request.set_service_arn(arn);
    Response response;
    const grpc::Status status =
        (stub_.get()->*method)(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.operation_id();
  }

  // What the service's web server answers, or "" if nothing answers.
  static std::string Get(const std::string& endpoint) {
    auto response = HttpGet(endpoint, "/index.html", absl::Seconds(2));
    return response.ok() ? response->body : "";
  }

  // Names of the containers labelled with the service's id.
  std::vector<std::string> Containers(const std::string& service_id) {
    const std::string filters = absl::StrCat(
        R"({"label":["servicemanager.service_id=)", service_id, R"("]})");
    auto response =
        http_->Call("GET",
                    absl::StrCat(kApi, "/containers/json?all=true&filters=",
                                 UnixHttpClient::Escape(filters)),
                    "", absl::Seconds(10));
    EXPECT_TRUE(response.ok());
    std::vector<std::string> names;
    const std::regex name("\"Names\":\\[\"([^\"]+)\"");
    for (auto it = std::sregex_iterator(response->body.begin(),
                                        response->body.end(), name);
         it != std::sregex_iterator(); ++it) {
      names.push_back((*it)[1].str());
    }
    return names;
  }

  bool ImageExists(const std::string& name) {
    auto response = http_->Call(
        "GET",
        absl::StrCat(kApi, "/images/", UnixHttpClient::Escape(name), "/exists"),
        "", absl::Seconds(10));
    return response.ok() && response->status == 204;
  }

  // The names of the service's image copies, joined by ",".
  std::string CopiesOf(const std::string& service_id) {
    auto response = http_->Call("GET", absl::StrCat(kApi, "/images/json"), "",
                                absl::Seconds(10));
    EXPECT_TRUE(response.ok());
    std::vector<std::string> copies;
    // An image's current names (its "History" lists names it had before).
    const std::regex names("\"Names\":\\[([^\\]]*)\\]");
    const std::regex copy(
        absl::StrCat("localhost/servicemanager/", service_id, ":v[0-9]+"));
    for (auto it = std::sregex_iterator(response->body.begin(),
                                        response->body.end(), names);
         it != std::sregex_iterator(); ++it) {
      const std::string list = (*it)[1].str();
      for (auto c = std::sregex_iterator(list.begin(), list.end(), copy);
           c != std::sregex_iterator(); ++c) {
        copies.push_back(c->str());
      }
    }
    return absl::StrJoin(copies, ",");
  }

  std::filesystem::path dir_;
  std::string socket_;
  std::unique_ptr<UnixHttpClient> http_;
  pid_t podman_pid_ = -1;
  pid_t server_pid_ = -1;
  int runs_ = 0;
  int first_port_ = 0;
  std::unique_ptr<v1::ServiceManager::Stub> stub_;
};

TEST_F(PodmanEndToEndTest, PauseResumeDeployAndDeleteActOnContainers) {
  BuildImage("v1");
  BuildImage("v2");
  ASSERT_EQ(RunPodman({"tag", "localhost/hello:v1", "localhost/hello:latest"}),
            0);
  StartServer();

  // Create from localhost/hello:latest (= v1).
  v1::CreateServiceResponse created;
  {
    grpc::ClientContext context;
    v1::CreateServiceRequest request;
    request.set_service_name("hello");
    v1::ImageRepository* image =
        request.mutable_source_configuration()->mutable_image_repository();
    image->set_image_identifier("localhost/hello:latest");
    image->mutable_image_configuration()->set_port("8080");
    (*image->mutable_image_configuration()
          ->mutable_runtime_environment_variables())["GREETING"] = "hi";
    v1::HealthCheckConfiguration* health =
        request.mutable_health_check_configuration();
    health->set_protocol(v1::HTTP);
    health->set_path("/index.html");
    health->set_interval(1);
    health->set_timeout(1);
    health->set_unhealthy_threshold(10);
    const grpc::Status status =
        stub_->CreateService(&context, request, &created);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  const std::string arn = created.service().service_arn();
  const std::string id = created.service().service_id();
  const std::string copy = absl::StrCat("localhost/servicemanager/", id, ":v1");
  ASSERT_EQ(Wait(created.operation_id()), v1::SUCCEEDED);
  const v1::Service running = Describe(arn);
  ASSERT_EQ(running.status(), v1::RUNNING);
  const std::string endpoint = running.endpoint();
  EXPECT_EQ(endpoint, absl::StrCat("127.0.0.1:", first_port_));
  EXPECT_EQ(Get(endpoint), "v1\n");
  EXPECT_EQ(Containers(id).size(), 1u);
  EXPECT_TRUE(ImageExists(copy));

  // The source tag moves on; what the service runs does not.
  ASSERT_EQ(RunPodman({"tag", "localhost/hello:v2", "localhost/hello:latest"}),
            0);

  ASSERT_EQ(Wait(Start(&v1::ServiceManager::Stub::PauseService, arn)),
            v1::SUCCEEDED);
  EXPECT_EQ(Describe(arn).status(), v1::PAUSED);
  EXPECT_EQ(Describe(arn).endpoint(), "");
  EXPECT_EQ(Get(endpoint), "");
  EXPECT_TRUE(Containers(id).empty());
  EXPECT_TRUE(ImageExists(copy));

  ASSERT_EQ(Wait(Start(&v1::ServiceManager::Stub::ResumeService, arn)),
            v1::SUCCEEDED);
  const v1::Service resumed = Describe(arn);
  EXPECT_EQ(resumed.endpoint(), endpoint);
  EXPECT_EQ(resumed.service_url(), running.service_url());
  EXPECT_EQ(Get(endpoint), "v1\n");

  ASSERT_EQ(Wait(Start(&v1::ServiceManager::Stub::StartDeployment, arn)),
            v1::SUCCEEDED);
  EXPECT_EQ(Describe(arn).endpoint(), endpoint);
  EXPECT_EQ(Get(endpoint), "v2\n");
  EXPECT_EQ(Containers(id).size(), 1u);

  // SIGKILL while the pause is under way; the next start finishes it.
  const std::string pause = Start(&v1::ServiceManager::Stub::PauseService, arn);
  KillServer();
  // Meanwhile a container of ServiceManager's that no service owns.
  const std::string stray(32, 'f');
  ASSERT_EQ(RunPodman({"create", "--name", "stray", "--label",
                       absl::StrCat("servicemanager.service_id=", stray),
                       "localhost/hello:v1"}),
            0)
      << ReadFile(dir_ / "cli.err");
  StartServer();
  ASSERT_EQ(Wait(pause), v1::SUCCEEDED);
  EXPECT_EQ(Describe(arn).status(), v1::PAUSED);
  EXPECT_TRUE(Containers(id).empty());
  EXPECT_TRUE(ImageExists(copy));
  EXPECT_TRUE(WaitFor([&] { return Containers(stray).empty(); },
                      std::chrono::seconds(20)))
      << ServerLog();

  // A RUNNING service whose container went while ServiceManager was down
  // runs again after the restart.
  ASSERT_EQ(Wait(Start(&v1::ServiceManager::Stub::ResumeService, arn)),
            v1::SUCCEEDED);
  EXPECT_EQ(Get(endpoint), "v2\n");
  KillServer();
  ASSERT_EQ(RunPodman({"rm", "--force", "--all", "--time", "0"}), 0);
  EXPECT_EQ(Get(endpoint), "");
  StartServer();
  EXPECT_TRUE(WaitFor([&] { return Get(endpoint) == "v2\n"; },
                      std::chrono::seconds(30)))
      << ServerLog();
  EXPECT_TRUE(WaitFor(
      [&] {
        return ServerLog().find(absl::StrCat("reconcile: service ", id)) !=
               std::string::npos;
      },
      std::chrono::seconds(10)));

  // A deployment that never becomes healthy fails, and what ran before runs
  // again.
  v1::UpdateServiceResponse updated;
  {
    grpc::ClientContext context;
    v1::UpdateServiceRequest request;
    request.set_service_arn(arn);
    v1::HealthCheckConfiguration* health =
        request.mutable_health_check_configuration();
    health->set_protocol(v1::HTTP);
    health->set_path("/missing.html");
    health->set_interval(1);
    health->set_timeout(1);
    health->set_unhealthy_threshold(2);
    const grpc::Status status =
        stub_->UpdateService(&context, request, &updated);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  const v1::Operation failed = WaitEnded(updated.operation_id());
  EXPECT_EQ(failed.status(), v1::ROLLBACK_SUCCEEDED);
  EXPECT_NE(failed.error().message().find("did not become healthy"),
            std::string::npos)
      << failed.error().message();
  EXPECT_EQ(Describe(arn).status(), v1::RUNNING);
  EXPECT_EQ(Get(endpoint), "v2\n");
  EXPECT_EQ(Containers(id).size(), 1u);

  ASSERT_EQ(Wait(Start(&v1::ServiceManager::Stub::DeleteService, arn)),
            v1::SUCCEEDED);
  EXPECT_EQ(Describe(arn).status(), v1::DELETED);
  EXPECT_EQ(Get(endpoint), "");
  EXPECT_TRUE(Containers(id).empty());
  EXPECT_EQ(CopiesOf(id), "") << ServerLog();
}

}  // namespace
