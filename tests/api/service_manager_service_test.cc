// The gRPC API end to end in one process: a real grpc::Server on 127.0.0.1
// with an ephemeral port, the real SQLite store on a temporary file, and the
// worker driven by hand on a fake clock, so every intermediate state is seen.
#include "api/service_manager_service.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/api/api_test_fixture.h"

namespace servicemanager::api {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;

TEST_F(ApiTest, CreateReturnsAtOnceAndTheWorkerFinishesIt) {
  v1::CreateServiceResponse created = Create("hello-web");
  const v1::Service& service = created.service();
  EXPECT_EQ(service.status(), v1::OPERATION_IN_PROGRESS);
  EXPECT_THAT(created.operation_id(),
              ::testing::MatchesRegex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-"
                                      "[89ab][0-9a-f]{3}-[0-9a-f]{12}"));
  EXPECT_THAT(service.service_id(), ::testing::MatchesRegex("[0-9a-f]{32}"));
  EXPECT_EQ(service.service_arn(),
            absl::StrCat("arn:aws:apprunner:us-east-1:123456789012:service/"
                         "hello-web/",
                         service.service_id()));
  EXPECT_THAT(service.service_url(), ::testing::EndsWith(".us-east-1.test"));
  EXPECT_EQ(
      service.source_configuration().image_repository().image_identifier(),
      "public.ecr.aws/hello/web:latest");
  EXPECT_EQ(service.instance_configuration().cpu(), "1024");
  EXPECT_EQ(service.instance_configuration().memory(), "2048");
  EXPECT_EQ(accepted_, 1);

  std::vector<v1::OperationSummary> ops = Operations(service.service_arn());
  ASSERT_THAT(ops, SizeIs(1));
  EXPECT_EQ(ops[0].id(), created.operation_id());
  EXPECT_EQ(ops[0].type(), v1::CREATE_SERVICE);
  EXPECT_EQ(ops[0].status(), v1::PENDING);
  EXPECT_EQ(ops[0].target_arn(), service.service_arn());
  EXPECT_FALSE(ops[0].has_ended_at());

  ASSERT_TRUE(worker_->RunOnce().ok());
  EXPECT_EQ(Operations(service.service_arn())[0].status(), v1::IN_PROGRESS);
  EXPECT_EQ(Describe(service.service_arn()).status(),
            v1::OPERATION_IN_PROGRESS);
  clock_.Advance(kComputeTime);
  ASSERT_TRUE(worker_->RunOnce().ok());

  v1::Service running = Describe(service.service_arn());
  EXPECT_EQ(running.status(), v1::RUNNING);
  EXPECT_EQ(running.deployed_image().version(), 1);
  ops = Operations(service.service_arn());
  EXPECT_EQ(ops[0].status(), v1::SUCCEEDED);
  EXPECT_TRUE(ops[0].has_ended_at());
  ASSERT_TRUE(runtime_.inner().Find(service.service_id()).has_value());
}

TEST_F(ApiTest, PauseDropsComputeKeepsImageAndConfigResumeRestoresIt) {
  const std::string arn = CreateRunning("paused-web");
  const v1::Service before = Describe(arn);
  ASSERT_TRUE(runtime_.inner().WriteScratch(ServiceId(arn), "tmp", "data"));

  v1::PauseServiceRequest pause;
  pause.set_service_arn(arn);
  v1::PauseServiceResponse paused;
  Outcome outcome =
      Call(&v1::ServiceManager::Stub::PauseService, pause, &paused);
  ASSERT_EQ(outcome.code, grpc::StatusCode::OK) << outcome.message;
  EXPECT_EQ(paused.service().status(), v1::OPERATION_IN_PROGRESS);
  EXPECT_EQ(Operations(arn)[0].id(), paused.operation_id());
  EXPECT_EQ(Operations(arn)[0].type(), v1::PAUSE_SERVICE);
  FinishOperations();

  const v1::Service after_pause = Describe(arn);
  EXPECT_EQ(after_pause.status(), v1::PAUSED);
  EXPECT_FALSE(runtime_.inner().Find(ServiceId(arn)).has_value());
  EXPECT_THAT(runtime_.inner().ImageCopies(ServiceId(arn)),
              ::testing::ElementsAre(1));
  EXPECT_EQ(after_pause.source_configuration().SerializeAsString(),
            before.source_configuration().SerializeAsString());
  EXPECT_EQ(after_pause.deployed_image().version(), 1);

  ASSERT_EQ(Resume(arn).code, grpc::StatusCode::OK);
  FinishOperations();
  const v1::Service resumed = Describe(arn);
  EXPECT_EQ(resumed.status(), v1::RUNNING);
  EXPECT_EQ(resumed.service_url(), before.service_url());
  EXPECT_EQ(resumed.service_id(), before.service_id());
  auto instance = runtime_.inner().Find(ServiceId(arn));
  ASSERT_TRUE(instance.has_value());
  EXPECT_EQ(instance->image.version, 1);
  EXPECT_EQ(instance->config.source.image_configuration
                .runtime_environment_variables.at("MODE"),
            "prod");
  EXPECT_TRUE(instance->scratch.empty()) << "ephemeral storage survived";
}

TEST_F(ApiTest, ResumeDeploysTheVersionFromBeforeThePauseNotANewerOne) {
  const std::string arn = CreateRunning("versioned");
  ASSERT_EQ(Pause(arn).code, grpc::StatusCode::OK);
  FinishOperations();

  v1::NotifySourceVersionRequest push;
  push.set_service_arn(arn);
  push.set_image_identifier("public.ecr.aws/hello/web@sha256:v2");
  v1::NotifySourceVersionResponse pushed;
  ASSERT_EQ(
      Call(&v1::ServiceManager::Stub::NotifySourceVersion, push, &pushed).code,
      grpc::StatusCode::OK);
  EXPECT_TRUE(pushed.operation_id().empty())
      << "a paused service must not auto-deploy";
  EXPECT_EQ(pushed.service().status(), v1::PAUSED);
  EXPECT_EQ(pushed.service().latest_image().version(), 2);

  ASSERT_EQ(Resume(arn).code, grpc::StatusCode::OK);
  FinishOperations();
  v1::Service resumed = Describe(arn);
  EXPECT_EQ(resumed.deployed_image().version(), 1);
  EXPECT_EQ(resumed.latest_image().version(), 2);
  EXPECT_EQ(runtime_.inner().Find(ServiceId(arn))->image.version, 1);

  ASSERT_EQ(Deploy(arn).code, grpc::StatusCode::OK);
  FinishOperations();
  EXPECT_EQ(Describe(arn).deployed_image().image_identifier(),
            "public.ecr.aws/hello/web@sha256:v2");
  EXPECT_EQ(runtime_.inner().Find(ServiceId(arn))->image.version, 2);

  // While RUNNING with auto deployments on, a push deploys.
  push.set_image_identifier("public.ecr.aws/hello/web@sha256:v3");
  ASSERT_EQ(
      Call(&v1::ServiceManager::Stub::NotifySourceVersion, push, &pushed).code,
      grpc::StatusCode::OK);
  EXPECT_FALSE(pushed.operation_id().empty());
  EXPECT_EQ(pushed.service().status(), v1::OPERATION_IN_PROGRESS);
  FinishOperations();
  EXPECT_EQ(Describe(arn).deployed_image().version(), 3);
  EXPECT_EQ(Operations(arn)[0].type(), v1::START_DEPLOYMENT);
}

TEST_F(ApiTest, DeletePurgesAndFreesTheName) {
  const std::string arn = CreateRunning("gone-soon");
  const v1::Service before = Describe(arn);
  v1::DeleteServiceRequest request;
  request.set_service_arn(arn);
  v1::DeleteServiceResponse response;
  ASSERT_EQ(
      Call(&v1::ServiceManager::Stub::DeleteService, request, &response).code,
      grpc::StatusCode::OK);
  EXPECT_EQ(response.service().status(), v1::OPERATION_IN_PROGRESS);
  EXPECT_THAT(ListedNames(), ::testing::Contains("gone-soon"));
  FinishOperations();

  const v1::Service deleted = Describe(arn);
  EXPECT_EQ(deleted.status(), v1::DELETED);
  EXPECT_TRUE(deleted.has_deleted_at());
  EXPECT_FALSE(deleted.has_source_configuration());
  EXPECT_FALSE(deleted.has_deployed_image());
  EXPECT_THAT(ListedNames(), ::testing::Not(::testing::Contains("gone-soon")));
  EXPECT_THAT(Tags(arn), ::testing::IsEmpty());
  EXPECT_FALSE(runtime_.inner().Find(ServiceId(arn)).has_value());
  EXPECT_THAT(runtime_.inner().ImageCopies(ServiceId(arn)),
              ::testing::IsEmpty());
  std::vector<v1::OperationSummary> history = Operations(arn);
  ASSERT_THAT(history, SizeIs(2));
  EXPECT_EQ(history[0].type(), v1::DELETE_SERVICE);
  EXPECT_EQ(history[0].status(), v1::SUCCEEDED);

  v1::CreateServiceResponse again = Create("gone-soon");
  EXPECT_NE(again.service().service_id(), before.service_id());
  EXPECT_NE(again.service().service_url(), before.service_url());
}

TEST_F(ApiTest, DuplicateNameOfALiveServiceIsRefused) {
  CreateRunning("taken-name");
  v1::CreateServiceRequest request;
  request.set_service_name("taken-name");
  request.mutable_source_configuration()
      ->mutable_image_repository()
      ->set_image_identifier("public.ecr.aws/x/y:1");
  v1::CreateServiceResponse response;
  Outcome outcome =
      Call(&v1::ServiceManager::Stub::CreateService, request, &response);
  EXPECT_EQ(outcome.code, grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(outcome.error_type, "InvalidRequestException");
  EXPECT_THAT(outcome.message, HasSubstr("service_name"));
}

// The README's table, cell by cell: every call in every state.
enum class State {
  kRunning,
  kPaused,
  kInProgress,
  kCreateFailed,
  kDeleteFailed,
  kDeleted
};
enum class Rpc {
  kDescribe,
  kListOperations,
  kListTags,
  kUpdate,
  kDeploy,
  kPause,
  kResume,
  kDelete,
  kTag,
  kUntag
};

struct Cell {
  State state;
  Rpc rpc;
  bool allowed;
};

std::string Name(State s) {
  const char* names[] = {"running",      "paused",       "inprogress",
                         "createfailed", "deletefailed", "deleted"};
  return names[static_cast<int>(s)];
}

std::string Name(Rpc r) {
  const char* names[] = {"describe", "listops", "listtags", "update", "deploy",
                         "pause",    "resume",  "delete",   "tag",    "untag"};
  return names[static_cast<int>(r)];
}

void PrintTo(const Cell& cell, std::ostream* os) {
  *os << Name(cell.state) << " x " << Name(cell.rpc) << " -> "
      << (cell.allowed ? "allowed" : "refused");
}

std::vector<Cell> Table() {
  // Columns: update, deploy, pause, resume, delete, tag, untag. Reads are
  // allowed everywhere.
  const std::vector<std::pair<State, std::vector<bool>>> rows = {
      {State::kRunning, {1, 1, 1, 0, 1, 1, 1}},
      {State::kPaused, {0, 0, 0, 1, 1, 1, 1}},
      {State::kInProgress, {0, 0, 0, 0, 0, 0, 0}},
      {State::kCreateFailed, {1, 0, 0, 0, 1, 1, 1}},
      {State::kDeleteFailed, {0, 0, 0, 0, 1, 1, 1}},
      {State::kDeleted, {0, 0, 0, 0, 0, 0, 0}},
  };
  const Rpc mutating[] = {Rpc::kUpdate, Rpc::kDeploy, Rpc::kPause, Rpc::kResume,
                          Rpc::kDelete, Rpc::kTag,    Rpc::kUntag};
  std::vector<Cell> cells;
  for (const auto& [state, allowed] : rows) {
    for (Rpc read : {Rpc::kDescribe, Rpc::kListOperations, Rpc::kListTags}) {
      cells.push_back({state, read, true});
    }
    for (size_t i = 0; i < allowed.size(); ++i) {
      cells.push_back({state, mutating[i], allowed[i]});
    }
  }
  return cells;
}

class StateTableTest : public ApiTest,
                       public ::testing::WithParamInterface<Cell> {
 protected:
  std::string Bring(State state) {
    using Call = testing::FaultyRuntime::Call;
    if (state == State::kCreateFailed) {
      runtime_.Fail(Call::kDeploy);
      std::string arn = CreateRunning("svc-in-state");
      runtime_.Heal();
      return arn;
    }
    std::string arn = CreateRunning("svc-in-state");
    switch (state) {
      case State::kRunning:
      case State::kCreateFailed:
        break;
      case State::kPaused:
        EXPECT_EQ(Pause(arn).code, grpc::StatusCode::OK);
        FinishOperations();
        break;
      case State::kInProgress:
        EXPECT_EQ(Pause(arn).code, grpc::StatusCode::OK);
        break;
      case State::kDeleteFailed:
        runtime_.Fail(Call::kRemove);
        EXPECT_EQ(Delete(arn).code, grpc::StatusCode::OK);
        FinishOperations();
        runtime_.Heal();
        break;
      case State::kDeleted:
        EXPECT_EQ(Delete(arn).code, grpc::StatusCode::OK);
        FinishOperations();
        break;
    }
    return arn;
  }

  Outcome Invoke(Rpc rpc, const std::string& arn) {
    switch (rpc) {
      case Rpc::kDescribe: {
        v1::DescribeServiceRequest request;
        request.set_service_arn(arn);
        v1::DescribeServiceResponse response;
        return Call(&v1::ServiceManager::Stub::DescribeService, request,
                    &response);
      }
      case Rpc::kListOperations: {
        v1::ListOperationsRequest request;
        request.set_service_arn(arn);
        v1::ListOperationsResponse response;
        return Call(&v1::ServiceManager::Stub::ListOperations, request,
                    &response);
      }
      case Rpc::kListTags: {
        v1::ListTagsForResourceRequest request;
        request.set_resource_arn(arn);
        v1::ListTagsForResourceResponse response;
        return Call(&v1::ServiceManager::Stub::ListTagsForResource, request,
                    &response);
      }
      case Rpc::kUpdate:
        return Update(arn, "2 vCPU");
      case Rpc::kDeploy:
        return Deploy(arn);
      case Rpc::kPause:
        return Pause(arn);
      case Rpc::kResume:
        return Resume(arn);
      case Rpc::kDelete:
        return Delete(arn);
      case Rpc::kTag:
        return Tag(arn, "owner", "ops");
      case Rpc::kUntag:
        return Untag(arn, "team");
    }
    return {};
  }
};

TEST_P(StateTableTest, CallIsAllowedOrRefusedAsDocumented) {
  const Cell cell = GetParam();
  const std::string arn = Bring(cell.state);
  const v1::Service before = Describe(arn);
  const std::vector<v1::OperationSummary> ops_before = Operations(arn);
  const auto tags_before = Tags(arn);

  Outcome outcome = Invoke(cell.rpc, arn);
  if (cell.allowed) {
    EXPECT_EQ(outcome.code, grpc::StatusCode::OK) << outcome.message;
    return;
  }
  EXPECT_EQ(outcome.code, grpc::StatusCode::FAILED_PRECONDITION)
      << outcome.message;
  EXPECT_EQ(outcome.error_type, "InvalidStateException");
  EXPECT_THAT(outcome.message,
              HasSubstr(v1::ServiceStatus_Name(before.status())));
  // A refused call changes nothing.
  const v1::Service after = Describe(arn);
  EXPECT_EQ(after.SerializeAsString(), before.SerializeAsString());
  EXPECT_EQ(Operations(arn).size(), ops_before.size());
  EXPECT_EQ(Tags(arn), tags_before);
}

INSTANTIATE_TEST_SUITE_P(EveryCell, StateTableTest,
                         ::testing::ValuesIn(Table()),
                         [](const ::testing::TestParamInfo<Cell>& info) {
                           return absl::StrCat(Name(info.param.state), "_",
                                               Name(info.param.rpc));
                         });

TEST_F(ApiTest, FailedPauseRollsBackToRunning) {
  const std::string arn = CreateRunning("flaky-pause");
  runtime_.Fail(testing::FaultyRuntime::Call::kStop);
  ASSERT_EQ(Pause(arn).code, grpc::StatusCode::OK);
  FinishOperations();
  EXPECT_EQ(Describe(arn).status(), v1::RUNNING);
  EXPECT_EQ(Operations(arn)[0].status(), v1::ROLLBACK_SUCCEEDED);
  EXPECT_TRUE(Operations(arn)[0].has_ended_at());
}

TEST_F(ApiTest, FailedCreateIsFixedByUpdate) {
  runtime_.Fail(testing::FaultyRuntime::Call::kDeploy);
  const std::string arn = CreateRunning("broken-first");
  EXPECT_EQ(Describe(arn).status(), v1::CREATE_FAILED);
  EXPECT_EQ(Operations(arn)[0].status(), v1::FAILED);
  runtime_.Heal();
  ASSERT_EQ(Update(arn, "0.5 vCPU").code, grpc::StatusCode::OK);
  FinishOperations();
  v1::Service fixed = Describe(arn);
  EXPECT_EQ(fixed.status(), v1::RUNNING);
  EXPECT_EQ(fixed.instance_configuration().cpu(), "512");
  EXPECT_EQ(Operations(arn)[0].type(), v1::UPDATE_SERVICE);
  EXPECT_EQ(Operations(arn)[0].status(), v1::SUCCEEDED);
}

TEST_F(ApiTest, FailedDeleteCanBeRetried) {
  const std::string arn = CreateRunning("sticky");
  runtime_.Fail(testing::FaultyRuntime::Call::kRemove);
  ASSERT_EQ(Delete(arn).code, grpc::StatusCode::OK);
  FinishOperations();
  EXPECT_EQ(Describe(arn).status(), v1::DELETE_FAILED);
  EXPECT_EQ(Operations(arn)[0].status(), v1::FAILED);
  runtime_.Heal();
  ASSERT_EQ(Delete(arn).code, grpc::StatusCode::OK);
  FinishOperations();
  EXPECT_EQ(Describe(arn).status(), v1::DELETED);
}

TEST_F(ApiTest, FailedUpdateRestoresThePreviousConfiguration) {
  const std::string arn = CreateRunning("careful");
  runtime_.Fail(testing::FaultyRuntime::Call::kDeploy);
  ASSERT_EQ(Update(arn, "4 vCPU").code, grpc::StatusCode::OK);
  EXPECT_EQ(Describe(arn).instance_configuration().cpu(), "4096");
  FinishOperations();
  v1::Service after = Describe(arn);
  EXPECT_EQ(after.status(), v1::RUNNING);
  EXPECT_EQ(after.instance_configuration().cpu(), "1024");
  EXPECT_EQ(Operations(arn)[0].status(), v1::ROLLBACK_SUCCEEDED);
}

TEST_F(ApiTest, BadArnsAreInvalidArgumentNamingTheField) {
  for (const std::string& arn :
       {std::string(), std::string("not-an-arn"),
        std::string("arn:aws:apprunner:us-east-1:12345:service/a/b"),
        std::string("arn:aws:apprunner:us-east-1:123456789012:service/a b/c"),
        absl::StrCat("arn:aws:apprunner:us-east-1:123456789012:service/",
                     std::string(1000, 'a'))}) {
    Outcome outcome = Pause(arn);
    EXPECT_EQ(outcome.code, grpc::StatusCode::INVALID_ARGUMENT) << arn;
    EXPECT_THAT(outcome.message, HasSubstr("service_arn")) << arn;
    EXPECT_EQ(outcome.error_type, "InvalidRequestException");
  }
}

TEST_F(ApiTest, UnknownServicesAreNotFound) {
  const std::string arn = CreateRunning("known");
  for (const std::string& other :
       {absl::StrCat("arn:aws:apprunner:us-east-1:123456789012:service/known/",
                     std::string(32, 'f')),
        absl::StrCat("arn:aws:apprunner:eu-west-1:123456789012:service/known/",
                     ServiceId(arn)),
        absl::StrCat("arn:aws:apprunner:us-east-1:123456789012:service/other/",
                     ServiceId(arn))}) {
    Outcome outcome = Resume(other);
    EXPECT_EQ(outcome.code, grpc::StatusCode::NOT_FOUND) << other;
    EXPECT_EQ(outcome.error_type, "ResourceNotFoundException");
  }
}

TEST_F(ApiTest, BadCreateRequestsNameTheirField) {
  struct Case {
    std::function<void(v1::CreateServiceRequest&)> edit;
    std::string field;
  };
  const std::vector<Case> cases = {
      {[](auto& r) { r.set_service_name("abc"); }, "service_name"},
      {[](auto& r) { r.set_service_name("-leading"); }, "service_name"},
      {[](auto& r) { r.clear_source_configuration(); }, "source_configuration"},
      {[](auto& r) {
         r.mutable_source_configuration()
             ->mutable_image_repository()
             ->clear_image_identifier();
       },
       "image_identifier"},
      {[](auto& r) {
         r.mutable_source_configuration()
             ->mutable_image_repository()
             ->mutable_image_configuration()
             ->set_port("70000");
       },
       "port"},
      {[](auto& r) { r.mutable_instance_configuration()->set_cpu("3 vCPU"); },
       "instance_configuration.cpu"},
      {[](auto& r) {
         r.mutable_health_check_configuration()->set_interval(21);
       },
       "health_check_configuration.interval"},
      {[](auto& r) { r.add_tags()->set_key("aws:reserved"); }, "tags"},
      {[](auto& r) { r.add_tags()->set_key(std::string(129, 'k')); }, "tags"},
      {[](auto& r) {
         v1::Tag* tag = r.add_tags();
         tag->set_key("long");
         tag->set_value(std::string(257, 'v'));
       },
       "tags"},
  };
  for (const Case& c : cases) {
    v1::CreateServiceRequest request;
    request.set_service_name("valid-name");
    request.mutable_source_configuration()
        ->mutable_image_repository()
        ->set_image_identifier("public.ecr.aws/x/y:1");
    c.edit(request);
    v1::CreateServiceResponse response;
    Outcome outcome =
        Call(&v1::ServiceManager::Stub::CreateService, request, &response);
    EXPECT_EQ(outcome.code, grpc::StatusCode::INVALID_ARGUMENT) << c.field;
    EXPECT_THAT(outcome.message, HasSubstr(c.field));
  }
  EXPECT_THAT(ListedNames(), ::testing::IsEmpty()) << "nothing half written";
}

TEST_F(ApiTest, TagsOverwriteAreLimitedAndGoAwayWithTheService) {
  const std::string arn = CreateRunning("tagged");
  ASSERT_EQ(Tag(arn, "team", "platform").code, grpc::StatusCode::OK);
  ASSERT_EQ(Tag(arn, "cost-center", "42").code, grpc::StatusCode::OK);
  EXPECT_EQ(Tags(arn), (std::vector<std::pair<std::string, std::string>>{
                           {"cost-center", "42"}, {"team", "platform"}}));
  ASSERT_EQ(Untag(arn, "cost-center").code, grpc::StatusCode::OK);
  EXPECT_THAT(Tags(arn), SizeIs(1));

  v1::TagResourceRequest many;
  many.set_resource_arn(arn);
  for (int i = 0; i < 49; ++i) {
    v1::Tag* tag = many.add_tags();
    tag->set_key(absl::StrCat("k", i));
  }
  v1::TagResourceResponse response;
  ASSERT_EQ(Call(&v1::ServiceManager::Stub::TagResource, many, &response).code,
            grpc::StatusCode::OK);
  EXPECT_THAT(Tags(arn), SizeIs(50));
  Outcome over = Tag(arn, "one-too-many", "");
  EXPECT_EQ(over.code, grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(over.message, HasSubstr("50"));
  EXPECT_THAT(Tags(arn), SizeIs(50));
  EXPECT_EQ(Tag(arn, "team", "").code, grpc::StatusCode::OK)
      << "overwriting a key does not count against the limit";
}

TEST_F(ApiTest, ListsPaginateWithOpaqueTokens) {
  for (int i = 0; i < 25; ++i) {
    Create(absl::StrCat("svc-", 100 + i));
  }
  std::vector<std::string> names;
  v1::ListServicesRequest request;
  request.set_max_results(10);
  int pages = 0;
  do {
    v1::ListServicesResponse response;
    ASSERT_EQ(
        Call(&v1::ServiceManager::Stub::ListServices, request, &response).code,
        grpc::StatusCode::OK);
    for (const auto& summary : response.service_summary_list()) {
      names.push_back(summary.service_name());
    }
    request.set_next_token(response.next_token());
    ++pages;
  } while (!request.next_token().empty());
  EXPECT_EQ(pages, 3);
  ASSERT_THAT(names, SizeIs(25));
  EXPECT_EQ(names.front(), "svc-100");
  EXPECT_EQ(names.back(), "svc-124");

  v1::ListServicesRequest defaults;
  v1::ListServicesResponse first;
  ASSERT_EQ(
      Call(&v1::ServiceManager::Stub::ListServices, defaults, &first).code,
      grpc::StatusCode::OK);
  EXPECT_THAT(first.service_summary_list(), SizeIs(20));

  for (int bad : {0, 101, -1}) {
    v1::ListServicesRequest r;
    r.set_max_results(bad);
    v1::ListServicesResponse out;
    Outcome outcome = Call(&v1::ServiceManager::Stub::ListServices, r, &out);
    EXPECT_EQ(outcome.code, grpc::StatusCode::INVALID_ARGUMENT) << bad;
    EXPECT_THAT(outcome.message, HasSubstr("max_results"));
  }
  v1::ListServicesRequest garbage;
  garbage.set_next_token("definitely-not-a-token");
  v1::ListServicesResponse out;
  Outcome outcome =
      Call(&v1::ServiceManager::Stub::ListServices, garbage, &out);
  EXPECT_EQ(outcome.code, grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(outcome.message, HasSubstr("next_token"));
}

TEST_F(ApiTest, ListOperationsIsNewestFirstAndPaginates) {
  const std::string arn = CreateRunning("busy");
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(Pause(arn).code, grpc::StatusCode::OK);
    FinishOperations();
    ASSERT_EQ(Resume(arn).code, grpc::StatusCode::OK);
    FinishOperations();
  }
  v1::ListOperationsRequest request;
  request.set_service_arn(arn);
  request.set_max_results(4);
  v1::ListOperationsResponse page1;
  ASSERT_EQ(
      Call(&v1::ServiceManager::Stub::ListOperations, request, &page1).code,
      grpc::StatusCode::OK);
  ASSERT_THAT(page1.operation_summary_list(), SizeIs(4));
  EXPECT_EQ(page1.operation_summary_list(0).type(), v1::RESUME_SERVICE);
  EXPECT_EQ(page1.operation_summary_list(1).type(), v1::PAUSE_SERVICE);
  ASSERT_FALSE(page1.next_token().empty());
  request.set_next_token(page1.next_token());
  v1::ListOperationsResponse page2;
  ASSERT_EQ(
      Call(&v1::ServiceManager::Stub::ListOperations, request, &page2).code,
      grpc::StatusCode::OK);
  ASSERT_THAT(page2.operation_summary_list(), SizeIs(3));
  EXPECT_EQ(page2.operation_summary_list(2).type(), v1::CREATE_SERVICE);
  EXPECT_TRUE(page2.next_token().empty());

  // A token of one service's listing is refused for another's.
  const std::string other = CreateRunning("quiet");
  request.set_service_arn(other);
  request.set_next_token(page1.next_token());
  v1::ListOperationsResponse wrong;
  EXPECT_EQ(
      Call(&v1::ServiceManager::Stub::ListOperations, request, &wrong).code,
      grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ApiTest, SixteenConcurrentPausesAcceptExactlyOne) {
  const std::string arn = CreateRunning("contended");
  std::atomic<int> ok = 0;
  std::atomic<int> refused = 0;
  std::vector<std::thread> threads;
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&] {
      Outcome outcome = Pause(arn);
      if (outcome.code == grpc::StatusCode::OK) {
        ++ok;
      } else if (outcome.code == grpc::StatusCode::FAILED_PRECONDITION) {
        ++refused;
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  EXPECT_EQ(ok, 1);
  EXPECT_EQ(refused, 15);
  EXPECT_THAT(Operations(arn), SizeIs(2));
  FinishOperations();
  EXPECT_EQ(Describe(arn).status(), v1::PAUSED);
}

TEST_F(ApiTest, PauseAndDeleteRacingAcceptExactlyOne) {
  for (int round = 0; round < 10; ++round) {
    const std::string arn = CreateRunning(absl::StrCat("race-", round));
    Outcome pause;
    Outcome del;
    std::thread a([&] { pause = Pause(arn); });
    std::thread b([&] { del = Delete(arn); });
    a.join();
    b.join();
    EXPECT_NE(pause.code == grpc::StatusCode::OK,
              del.code == grpc::StatusCode::OK);
    const Outcome& loser = pause.code == grpc::StatusCode::OK ? del : pause;
    EXPECT_EQ(loser.code, grpc::StatusCode::FAILED_PRECONDITION);
    FinishOperations();
    const v1::ServiceStatus status = Describe(arn).status();
    EXPECT_TRUE(status == v1::PAUSED || status == v1::DELETED);
  }
}

}  // namespace
}  // namespace servicemanager::api
