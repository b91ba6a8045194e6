// The real servicemanager binary on PostgreSQL (the fixture private_postgres
// starts a server and writes its URL): the flags that only PostgreSQL reads.
// Skips without a server.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "pqxx/pqxx"
#include "servicemanager/v1/service_manager.grpc.pb.h"
#include "tests/integration/process.h"
#include "tests/integration/process_fixture.h"
#include "tests/testing/postgres_schema.h"

namespace {

namespace v1 = ::servicemanager::v1;

using ::servicemanager::testing::PostgresSchema;
using ::servicemanager::testing::TestPostgresUrl;
using ::servicemanager::testing::WaitFor;

class PostgresProcessTest : public ::servicemanager::testing::ProcessFixture {
 protected:
  PostgresProcessTest() : ProcessFixture("sm-postgres-process-test") {}

  void SetUp() override {
    ProcessFixture::SetUp();
    const std::optional<std::string> url = TestPostgresUrl();
    if (!url.has_value()) {
      GTEST_SKIP() << "no PostgreSQL: set SM_TEST_POSTGRES_URL";
    }
    auto schema = PostgresSchema::Create(*url);
    ASSERT_TRUE(schema.ok()) << schema.status();
    schema_ = *std::move(schema);
  }

  // Starts the server on the test's schema, its connections named after the
  // schema (application_name), and waits for its ready line.
  void StartServer(const std::vector<std::string>& flags) {
    std::vector<std::string> argv = {
        SM_SERVER_BINARY, "--listen", "127.0.0.1:0", "--database-url",
        absl::StrCat(schema_->url(), "&application_name=", schema_->name())};
    argv.insert(argv.end(), flags.begin(), flags.end());
    const std::filesystem::path log = dir_ / "server.log";
    const std::string endpoint = StartServerProcess(argv, log);
    ASSERT_FALSE(endpoint.empty());
    stub_ = v1::ServiceManager::NewStub(
        grpc::CreateChannel(endpoint, grpc::InsecureChannelCredentials()));
  }

  grpc::Status Describe(const std::string& arn, std::chrono::seconds deadline,
                        v1::Service* service = nullptr) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + deadline);
    v1::DescribeServiceRequest request;
    request.set_service_arn(arn);
    v1::DescribeServiceResponse response;
    grpc::Status status = stub_->DescribeService(&context, request, &response);
    if (service != nullptr) *service = response.service();
    return status;
  }

  // How many of the server's connections wait for a lock.
  int LockWaiters() {
    pqxx::connection c(schema_->url());
    pqxx::nontransaction t(c);
    return t
        .exec_params(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE application_name = $1 AND wait_event_type = 'Lock'",
            schema_->name())[0][0]
        .as<int>();
  }

  std::unique_ptr<PostgresSchema> schema_;
  std::unique_ptr<v1::ServiceManager::Stub> stub_;
};

// With --postgres-pool-size 1, a call that waits for a row lock holds the
// only connection of the API's calls: a DescribeService waits for it past its
// deadline, and answers once the lock is gone.
TEST_F(PostgresProcessTest, PoolSizeBoundsTheConnectionsOfTheCalls) {
  StartServer({"--postgres-pool-size", "1", "--worker-delay-ms", "0"});
  v1::Service service;
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    v1::CreateServiceRequest request;
    request.set_service_name("pooled");
    request.mutable_source_configuration()
        ->mutable_image_repository()
        ->set_image_identifier("public.ecr.aws/pool/web:1");
    v1::CreateServiceResponse response;
    ASSERT_TRUE(stub_->CreateService(&context, request, &response).ok());
    service = response.service();
  }
  const std::string arn = service.service_arn();
  ASSERT_TRUE(WaitFor(
      [&] {
        v1::Service now;
        return Describe(arn, std::chrono::seconds(5), &now).ok() &&
               now.status() == v1::RUNNING;
      },
      std::chrono::seconds(20)))
      << "the create never ended";

  // Another session locks the service's row, so a pause of it waits.
  pqxx::connection locker(schema_->url());
  pqxx::work lock(locker);
  lock.exec_params("SELECT 1 FROM services WHERE service_id = $1 FOR UPDATE",
                   service.service_id());
  grpc::Status paused;
  std::thread pause([&] {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(30));
    v1::PauseServiceRequest request;
    request.set_service_arn(arn);
    v1::PauseServiceResponse response;
    paused = stub_->PauseService(&context, request, &response);
  });
  const bool waiting =
      WaitFor([&] { return LockWaiters() > 0; }, std::chrono::seconds(10));
  EXPECT_TRUE(waiting) << "the pause never waited for the lock";

  if (waiting) {
    EXPECT_EQ(Describe(arn, std::chrono::seconds(1)).error_code(),
              grpc::StatusCode::DEADLINE_EXCEEDED)
        << "a second connection answered";
  }
  lock.abort();
  pause.join();
  EXPECT_TRUE(paused.ok()) << paused.error_message();
  EXPECT_TRUE(Describe(arn, std::chrono::seconds(5)).ok());
}

}  // namespace
