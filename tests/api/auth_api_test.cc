// Authentication and authorization through the real gRPC server: bearer
// tokens from a tokens file, roles, accounts, and the file's reload.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "api/authorizer.h"
#include "auth/principals.h"
#include "servicemanager/v1/service_manager.grpc.pb.h"
#include "tests/api/api_test_fixture.h"

namespace servicemanager::api {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAre;

constexpr char kAliceAccount[] = "111111111111";
constexpr char kBobAccount[] = "222222222222";
constexpr char kAdminAccount[] = "999999999999";

// Tokens, as their holders send them.
constexpr char kAlice[] = "alice-token-0123456789";    // operator, 1111…
constexpr char kReader[] = "reader-token-0123456789";  // read-only, 1111…
constexpr char kBob[] = "bob-token-0123456789";        // operator, 2222…
constexpr char kAdmin[] = "admin-token-0123456789";    // admin, 9999…
constexpr char kCarol[] = "carol-token-0123456789";    // not in the file

std::string Line(const std::string& name, const std::string& account,
                 const std::string& role, const std::string& token) {
  return absl::StrCat(name, " ", account, " ", role,
                      " sha256:", auth::HashToken(token), "\n");
}

std::string TokensText() {
  return absl::StrCat("# name account role credential\n",
                      Line("alice", kAliceAccount, "operator", kAlice),
                      Line("reader", kAliceAccount, "read-only", kReader),
                      Line("bob", kBobAccount, "operator", kBob),
                      Line("root", kAdminAccount, "admin", kAdmin));
}

class AuthApiTest : public ApiTest {
 protected:
  AuthorizerOptions MakeAuthorizerOptions() override {
    tokens_path_ = (dir_ / "tokens").string();
    std::ofstream(tokens_path_) << TokensText();
    auto tokens = auth::TokensFile::Open(tokens_path_, clock_);
    EXPECT_TRUE(tokens.ok()) << tokens.status();
    tokens_ = *std::move(tokens);
    AuthorizerOptions options;
    options.account_id = kAccount;
    options.tokens = tokens_.get();
    return options;
  }

  // Calls `method` with `token` ("" for none) as the bearer token.
  template <typename Request, typename Response>
  grpc::Status CallAs(const std::string& token,
                      grpc::Status (v1::ServiceManager::Stub::*method)(
                          grpc::ClientContext*, const Request&, Response*),
                      const Request& request, Response* response = nullptr) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    if (!token.empty()) {
      context.AddMetadata("authorization", absl::StrCat("Bearer ", token));
    }
    Response ignored;
    return ((*stub_).*method)(&context, request,
                              response != nullptr ? response : &ignored);
  }

  // The status a WatchService stream ends with, after its first message if
  // it sends one (then the call is cancelled: OK means it was allowed).
  grpc::Status WatchAs(const std::string& token, const std::string& arn) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    if (!token.empty()) {
      context.AddMetadata("authorization", absl::StrCat("Bearer ", token));
    }
    v1::WatchServiceRequest request;
    request.set_service_arn(arn);
    auto reader = stub_->WatchService(&context, request);
    v1::WatchServiceResponse response;
    if (reader->Read(&response)) {
      context.TryCancel();
      reader->Finish().IgnoreError();
      return grpc::Status::OK;
    }
    return reader->Finish();
  }

  std::string CreateAs(const std::string& token, const std::string& name) {
    v1::CreateServiceRequest request;
    request.set_service_name(name);
    auto* repo =
        request.mutable_source_configuration()->mutable_image_repository();
    repo->set_image_identifier("public.ecr.aws/hello/web:latest");
    repo->set_image_repository_type(v1::ECR_PUBLIC);
    v1::CreateServiceResponse response;
    grpc::Status status = CallAs(
        token, &v1::ServiceManager::Stub::CreateService, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    FinishOperations();
    return response.service().service_arn();
  }

  // The service's status and tags, as the admin sees them.
  v1::ServiceStatus StatusOf(const std::string& arn) {
    v1::DescribeServiceRequest request;
    request.set_service_arn(arn);
    v1::DescribeServiceResponse response;
    grpc::Status status = CallAs(
        kAdmin, &v1::ServiceManager::Stub::DescribeService, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.service().status();
  }
  std::vector<std::string> TagKeysOf(const std::string& arn) {
    v1::ListTagsForResourceRequest request;
    request.set_resource_arn(arn);
    v1::ListTagsForResourceResponse response;
    grpc::Status status =
        CallAs(kAdmin, &v1::ServiceManager::Stub::ListTagsForResource, request,
               &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    std::vector<std::string> keys;
    for (const v1::Tag& tag : response.tags()) keys.push_back(tag.key());
    return keys;
  }

  std::vector<std::string> ListedArnsAs(const std::string& token) {
    v1::ListServicesRequest request;
    request.set_max_results(100);
    v1::ListServicesResponse response;
    grpc::Status status = CallAs(token, &v1::ServiceManager::Stub::ListServices,
                                 request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    std::vector<std::string> arns;
    for (const v1::ServiceSummary& summary : response.service_summary_list()) {
      arns.push_back(summary.service_arn());
    }
    return arns;
  }

  std::string LastOperationId(const std::string& arn) {
    v1::ListOperationsRequest request;
    request.set_service_arn(arn);
    v1::ListOperationsResponse response;
    EXPECT_TRUE(CallAs(kAdmin, &v1::ServiceManager::Stub::ListOperations,
                       request, &response)
                    .ok());
    return response.operation_summary_list().empty()
               ? ""
               : response.operation_summary_list(0).id();
  }

  // Every RPC of the API, called with `token` on `arn` (and its latest
  // operation), by name: what each answered.
  struct Named {
    std::string method;
    grpc::StatusCode code;
  };
  // CreateService too unless `with_create` is false.
  std::vector<Named> Mutations(const std::string& token, const std::string& arn,
                               bool with_create = true) {
    std::vector<Named> codes;
    auto add = [&codes](const std::string& method, const grpc::Status& s) {
      codes.push_back({method, s.error_code()});
    };
    using Stub = v1::ServiceManager::Stub;
    if (with_create) {
      v1::CreateServiceRequest r;
      r.set_service_name("created-by-the-test");
      r.mutable_source_configuration()
          ->mutable_image_repository()
          ->set_image_identifier("public.ecr.aws/hello/web:latest");
      add("CreateService", CallAs(token, &Stub::CreateService, r));
    }
    {
      v1::UpdateServiceRequest r;
      r.set_service_arn(arn);
      r.mutable_instance_configuration()->set_cpu("2048");
      add("UpdateService", CallAs(token, &Stub::UpdateService, r));
    }
    {
      v1::StartDeploymentRequest r;
      r.set_service_arn(arn);
      add("StartDeployment", CallAs(token, &Stub::StartDeployment, r));
    }
    {
      v1::PauseServiceRequest r;
      r.set_service_arn(arn);
      add("PauseService", CallAs(token, &Stub::PauseService, r));
    }
    {
      v1::ResumeServiceRequest r;
      r.set_service_arn(arn);
      add("ResumeService", CallAs(token, &Stub::ResumeService, r));
    }
    {
      v1::DeleteServiceRequest r;
      r.set_service_arn(arn);
      add("DeleteService", CallAs(token, &Stub::DeleteService, r));
    }
    {
      v1::TagResourceRequest r;
      r.set_resource_arn(arn);
      v1::Tag* tag = r.add_tags();
      tag->set_key("owner");
      tag->set_value("intruder");
      add("TagResource", CallAs(token, &Stub::TagResource, r));
    }
    {
      v1::UntagResourceRequest r;
      r.set_resource_arn(arn);
      r.add_tag_keys("team");
      add("UntagResource", CallAs(token, &Stub::UntagResource, r));
    }
    {
      v1::AssociateCustomDomainRequest r;
      r.set_service_arn(arn);
      r.set_domain_name("www.example.com");
      add("AssociateCustomDomain",
          CallAs(token, &Stub::AssociateCustomDomain, r));
    }
    {
      v1::DisassociateCustomDomainRequest r;
      r.set_service_arn(arn);
      r.set_domain_name("www.example.com");
      add("DisassociateCustomDomain",
          CallAs(token, &Stub::DisassociateCustomDomain, r));
    }
    {
      v1::NotifySourceVersionRequest r;
      r.set_service_arn(arn);
      r.set_image_identifier("public.ecr.aws/hello/web:2");
      add("NotifySourceVersion", CallAs(token, &Stub::NotifySourceVersion, r));
    }
    {
      v1::CancelOperationRequest r;
      r.set_operation_id(LastOperationId(arn));
      add("CancelOperation", CallAs(token, &Stub::CancelOperation, r));
    }
    return codes;
  }

  std::vector<Named> Reads(const std::string& token, const std::string& arn) {
    std::vector<Named> codes;
    auto add = [&codes](const std::string& method, const grpc::Status& s) {
      codes.push_back({method, s.error_code()});
    };
    using Stub = v1::ServiceManager::Stub;
    {
      v1::DescribeServiceRequest r;
      r.set_service_arn(arn);
      add("DescribeService", CallAs(token, &Stub::DescribeService, r));
    }
    {
      v1::ListOperationsRequest r;
      r.set_service_arn(arn);
      add("ListOperations", CallAs(token, &Stub::ListOperations, r));
    }
    {
      v1::ListTagsForResourceRequest r;
      r.set_resource_arn(arn);
      add("ListTagsForResource", CallAs(token, &Stub::ListTagsForResource, r));
    }
    {
      v1::DescribeOperationRequest r;
      r.set_operation_id(LastOperationId(arn));
      add("DescribeOperation", CallAs(token, &Stub::DescribeOperation, r));
    }
    {
      v1::WaitOperationRequest r;
      r.set_operation_id(LastOperationId(arn));
      r.mutable_timeout()->set_seconds(0);
      add("WaitOperation", CallAs(token, &Stub::WaitOperation, r));
    }
    {
      v1::DescribeCustomDomainsRequest r;
      r.set_service_arn(arn);
      add("DescribeCustomDomains",
          CallAs(token, &Stub::DescribeCustomDomains, r));
    }
    add("WatchService", WatchAs(token, arn));
    return codes;
  }

  std::string tokens_path_;
  std::unique_ptr<auth::TokensFile> tokens_;
};

MATCHER_P(AllAre, code, "") {
  bool all = true;
  for (const auto& named : arg) {
    if (named.code != code) {
      *result_listener << named.method << " answered " << named.code << "; ";
      all = false;
    }
  }
  return all;
}

TEST_F(AuthApiTest, MissingOrBadTokenIsUnauthenticatedEverywhere) {
  const std::string arn = CreateAs(kAlice, "web-app");
  const int accepted = accepted_;
  for (const char* token : {"", "not-a-known-token"}) {
    SCOPED_TRACE(token);
    EXPECT_THAT(Mutations(token, arn),
                AllAre(grpc::StatusCode::UNAUTHENTICATED));
    EXPECT_THAT(Reads(token, arn), AllAre(grpc::StatusCode::UNAUTHENTICATED));
    v1::ListServicesRequest list;
    EXPECT_EQ(CallAs(token, &v1::ServiceManager::Stub::ListServices, list)
                  .error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  EXPECT_EQ(accepted_, accepted) << "nothing was accepted";
}

TEST_F(AuthApiTest, AnAuthorizationHeaderThatIsNotBearerIsUnauthenticated) {
  grpc::ClientContext context;
  context.AddMetadata("authorization", absl::StrCat("Basic ", kAlice));
  v1::ListServicesResponse response;
  grpc::Status status = stub_->ListServices(&context, {}, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(status.error_message(), HasSubstr("Bearer"));
}

TEST_F(AuthApiTest, ServicesAreCreatedInTheCallersAccount) {
  EXPECT_THAT(CreateAs(kAlice, "web-app"),
              StartsWith(absl::StrCat("arn:aws:apprunner:us-east-1:",
                                      kAliceAccount, ":service/web-app/")));
  // The same name is free in another account.
  EXPECT_THAT(CreateAs(kBob, "web-app"),
              StartsWith(absl::StrCat("arn:aws:apprunner:us-east-1:",
                                      kBobAccount, ":service/web-app/")));
  EXPECT_THAT(CreateAs(kAdmin, "web-app"),
              StartsWith(absl::StrCat("arn:aws:apprunner:us-east-1:",
                                      kAdminAccount, ":service/web-app/")));
}

TEST_F(AuthApiTest, AnotherAccountsServicesAndOperationsAreNotFound) {
  const std::string alices = CreateAs(kAlice, "web-app");
  const std::string bobs = CreateAs(kBob, "api-app");
  const int accepted = accepted_;
  EXPECT_THAT(Mutations(kBob, alices, /*with_create=*/false),
              AllAre(grpc::StatusCode::NOT_FOUND));
  EXPECT_THAT(Reads(kBob, alices), AllAre(grpc::StatusCode::NOT_FOUND));
  EXPECT_EQ(accepted_, accepted) << "nothing of alice's was touched";
  EXPECT_EQ(StatusOf(alices), v1::RUNNING);
  EXPECT_THAT(TagKeysOf(alices), Not(Contains("owner")));

  // Bob's answer on alice's service is the one for a service that does not
  // exist at all.
  v1::DescribeServiceRequest real;
  real.set_service_arn(alices);
  v1::DescribeServiceRequest made_up;
  made_up.set_service_arn(absl::StrCat(alices.substr(0, alices.rfind('/') + 1),
                                       std::string(32, 'f')));
  grpc::Status on_real =
      CallAs(kBob, &v1::ServiceManager::Stub::DescribeService, real);
  grpc::Status on_made_up =
      CallAs(kBob, &v1::ServiceManager::Stub::DescribeService, made_up);
  EXPECT_EQ(on_real.error_code(), on_made_up.error_code());
  EXPECT_EQ(on_real.error_message().substr(0, 20),
            on_made_up.error_message().substr(0, 20));

  EXPECT_THAT(ListedArnsAs(kBob), ElementsAre(bobs));
  EXPECT_THAT(ListedArnsAs(kAlice), ElementsAre(alices));
  EXPECT_THAT(ListedArnsAs(kReader), ElementsAre(alices));
}

TEST_F(AuthApiTest, ReadOnlyIsRefusedEveryMutationAndAllowedEveryRead) {
  const std::string arn = CreateAs(kAlice, "web-app");
  const int accepted = accepted_;
  EXPECT_THAT(Mutations(kReader, arn),
              AllAre(grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_EQ(accepted_, accepted) << "nothing was accepted";
  EXPECT_EQ(StatusOf(arn), v1::RUNNING);
  EXPECT_THAT(Reads(kReader, arn), AllAre(grpc::StatusCode::OK));
  EXPECT_THAT(ListedArnsAs(kReader), ElementsAre(arn));
  // The role is checked before the account: another account's service is
  // refused the same way, so the answer tells nothing about it.
  const std::string bobs = CreateAs(kBob, "api-app");
  EXPECT_THAT(Mutations(kReader, bobs),
              AllAre(grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_THAT(Reads(kReader, bobs), AllAre(grpc::StatusCode::NOT_FOUND));
}

TEST_F(AuthApiTest, ConnectionsBelongToTheCallersAccount) {
  using Stub = v1::ServiceManager::Stub;
  v1::CreateConnectionRequest create;
  create.set_connection_name("alices-github");
  create.set_provider_type(v1::GITHUB);
  v1::CreateConnectionResponse created;
  ASSERT_TRUE(CallAs(kAlice, &Stub::CreateConnection, create, &created).ok());
  const std::string arn = created.connection().connection_arn();
  EXPECT_THAT(arn, StartsWith(absl::StrCat("arn:aws:apprunner:us-east-1:",
                                           kAliceAccount, ":connection/")));

  // Bob can neither see, tag, delete nor use alice's connection.
  v1::ListConnectionsResponse bobs_list;
  ASSERT_TRUE(CallAs(kBob, &Stub::ListConnections, v1::ListConnectionsRequest{},
                     &bobs_list)
                  .ok());
  EXPECT_EQ(bobs_list.connection_summary_list_size(), 0);
  v1::DeleteConnectionRequest remove;
  remove.set_connection_arn(arn);
  EXPECT_EQ(CallAs(kBob, &Stub::DeleteConnection, remove).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::TagResourceRequest tag;
  tag.set_resource_arn(arn);
  v1::Tag* owner = tag.add_tags();
  owner->set_key("owner");
  owner->set_value("bob");
  EXPECT_EQ(CallAs(kBob, &Stub::TagResource, tag).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::ListTagsForResourceRequest tags;
  tags.set_resource_arn(arn);
  EXPECT_EQ(CallAs(kBob, &Stub::ListTagsForResource, tags).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::CreateServiceRequest service;
  service.set_service_name("uses-alices");
  service.mutable_source_configuration()
      ->mutable_image_repository()
      ->set_image_identifier("public.ecr.aws/hello/web:latest");
  service.mutable_source_configuration()
      ->mutable_authentication_configuration()
      ->set_connection_arn(arn);
  grpc::Status used = CallAs(kBob, &Stub::CreateService, service);
  EXPECT_EQ(used.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(used.error_message(),
              StartsWith("source_configuration.authentication_configuration."
                         "connection_arn: "));

  // Alice's reader sees it and may change nothing.
  v1::ListConnectionsResponse readers_list;
  ASSERT_TRUE(CallAs(kReader, &Stub::ListConnections,
                     v1::ListConnectionsRequest{}, &readers_list)
                  .ok());
  ASSERT_EQ(readers_list.connection_summary_list_size(), 1);
  EXPECT_EQ(readers_list.connection_summary_list(0).connection_arn(), arn);
  EXPECT_EQ(CallAs(kReader, &Stub::CreateConnection, create).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(CallAs(kReader, &Stub::DeleteConnection, remove).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(CallAs("", &Stub::ListConnections, v1::ListConnectionsRequest{})
                .error_code(),
            grpc::StatusCode::UNAUTHENTICATED);

  // Alice uses it, and the admin may delete it once nothing does.
  service.set_service_name("uses-own");
  EXPECT_TRUE(CallAs(kAlice, &Stub::CreateService, service).ok());
  EXPECT_EQ(CallAs(kAdmin, &Stub::DeleteConnection, remove).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(AuthApiTest, AClientTokenNeverReplaysAnotherAccountsCall) {
  v1::CreateServiceRequest request;
  request.set_service_name("token-web");
  request.set_client_token("the-same-token-0001");
  request.mutable_source_configuration()
      ->mutable_image_repository()
      ->set_image_identifier("public.ecr.aws/hello/web:latest");
  v1::CreateServiceResponse alices;
  ASSERT_TRUE(
      CallAs(kAlice, &v1::ServiceManager::Stub::CreateService, request, &alices)
          .ok());
  v1::CreateServiceResponse bobs;
  ASSERT_TRUE(
      CallAs(kBob, &v1::ServiceManager::Stub::CreateService, request, &bobs)
          .ok());
  EXPECT_THAT(bobs.service().service_arn(),
              StartsWith(absl::StrCat("arn:aws:apprunner:us-east-1:",
                                      kBobAccount, ":service/token-web/")));
  EXPECT_NE(bobs.operation_id(), alices.operation_id());
  // Within one account the token still replays.
  v1::CreateServiceResponse again;
  ASSERT_TRUE(
      CallAs(kAlice, &v1::ServiceManager::Stub::CreateService, request, &again)
          .ok());
  EXPECT_EQ(again.operation_id(), alices.operation_id());
}

TEST_F(AuthApiTest, AnOperatorMayChangeItsOwnAccountsServices) {
  const std::string arn = CreateAs(kAlice, "web-app");
  v1::PauseServiceRequest pause;
  pause.set_service_arn(arn);
  EXPECT_TRUE(
      CallAs(kAlice, &v1::ServiceManager::Stub::PauseService, pause).ok());
  EXPECT_THAT(Reads(kAlice, arn), AllAre(grpc::StatusCode::OK));
}

TEST_F(AuthApiTest, AnAdminActsAcrossAccounts) {
  const std::string alices = CreateAs(kAlice, "web-app");
  const std::string bobs = CreateAs(kBob, "api-app");
  EXPECT_THAT(ListedArnsAs(kAdmin), UnorderedElementsAre(alices, bobs));
  EXPECT_THAT(Reads(kAdmin, alices), AllAre(grpc::StatusCode::OK));
  v1::PauseServiceRequest pause;
  pause.set_service_arn(bobs);
  EXPECT_TRUE(
      CallAs(kAdmin, &v1::ServiceManager::Stub::PauseService, pause).ok());
  EXPECT_EQ(StatusOf(bobs), v1::OPERATION_IN_PROGRESS);
}

TEST_F(AuthApiTest, AChangedTokensFileIsReadAgain) {
  v1::ListServicesRequest list;
  EXPECT_EQ(CallAs(kCarol, &v1::ServiceManager::Stub::ListServices, list)
                .error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  // As a Secret's update would: carol comes, alice goes.
  std::string text = TokensText();
  text.erase(text.find("alice "),
             text.find('\n', text.find("alice ")) - text.find("alice ") + 1);
  text += Line("carol", kBobAccount, "read-only", kCarol);
  std::ofstream(tokens_path_) << text;
  clock_.Advance(auth::TokensFile::kRecheck);
  EXPECT_TRUE(
      CallAs(kCarol, &v1::ServiceManager::Stub::ListServices, list).ok());
  EXPECT_EQ(CallAs(kAlice, &v1::ServiceManager::Stub::ListServices, list)
                .error_code(),
            grpc::StatusCode::UNAUTHENTICATED);

  // A file that no longer parses leaves the last good one in force.
  std::ofstream(tokens_path_) << "carol 1 nonsense\n";
  clock_.Advance(auth::TokensFile::kRecheck);
  EXPECT_TRUE(
      CallAs(kCarol, &v1::ServiceManager::Stub::ListServices, list).ok());
}

// With auth off (the fixture's default), every caller is an admin of the
// server's account: the behaviour before accounts.
TEST_F(ApiTest, WithAuthOffServicesAreCreatedInTheServersAccount) {
  EXPECT_THAT(Create("web-app").service().service_arn(),
              StartsWith(absl::StrCat("arn:aws:apprunner:us-east-1:", kAccount,
                                      ":service/web-app/")));
}

}  // namespace
}  // namespace servicemanager::api
