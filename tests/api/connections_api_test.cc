// Connections and custom domains through the real gRPC API: the paused-state
// and delete rules, the certificate retention crossed on the fake clock, and
// tags on connections.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "tests/api/api_test_fixture.h"
#include "worker/janitor.h"

namespace servicemanager::api {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;
using ::testing::Ne;

constexpr absl::Duration kCertificateRetention = absl::Hours(24 * 7);

class ConnectionsApiTest : public ApiTest {
 protected:
  Outcome CreateConnection(const std::string& name, v1::ProviderType provider,
                           v1::Connection* connection = nullptr) {
    v1::CreateConnectionRequest request;
    request.set_connection_name(name);
    request.set_provider_type(provider);
    v1::Tag* tag = request.add_tags();
    tag->set_key("owner");
    tag->set_value("platform");
    v1::CreateConnectionResponse response;
    Outcome outcome =
        Call(&v1::ServiceManager::Stub::CreateConnection, request, &response);
    if (connection != nullptr) *connection = response.connection();
    return outcome;
  }
  std::string NewConnection(const std::string& name) {
    v1::Connection connection;
    Outcome outcome = CreateConnection(name, v1::GITHUB, &connection);
    EXPECT_EQ(outcome.code, grpc::StatusCode::OK) << outcome.message;
    return connection.connection_arn();
  }
  Outcome DeleteConnection(const std::string& arn,
                           v1::Connection* deleted = nullptr) {
    v1::DeleteConnectionRequest request;
    request.set_connection_arn(arn);
    v1::DeleteConnectionResponse response;
    Outcome outcome =
        Call(&v1::ServiceManager::Stub::DeleteConnection, request, &response);
    if (deleted != nullptr) *deleted = response.connection();
    return outcome;
  }
  std::vector<std::string> ConnectionNames(const std::string& filter = "") {
    v1::ListConnectionsRequest request;
    request.set_connection_name(filter);
    v1::ListConnectionsResponse response;
    Outcome outcome =
        Call(&v1::ServiceManager::Stub::ListConnections, request, &response);
    EXPECT_EQ(outcome.code, grpc::StatusCode::OK) << outcome.message;
    std::vector<std::string> names;
    for (const v1::ConnectionSummary& summary :
         response.connection_summary_list()) {
      names.push_back(summary.connection_name());
    }
    return names;
  }
  // A service whose source uses `connection`.
  Outcome CreateWithConnection(const std::string& name,
                               const std::string& connection,
                               std::string* arn = nullptr) {
    v1::CreateServiceRequest request;
    request.set_service_name(name);
    v1::SourceConfiguration* source = request.mutable_source_configuration();
    source->mutable_image_repository()->set_image_identifier(
        "public.ecr.aws/hello/web:latest");
    source->mutable_image_repository()->set_image_repository_type(
        v1::ECR_PUBLIC);
    source->mutable_authentication_configuration()->set_connection_arn(
        connection);
    v1::CreateServiceResponse response;
    Outcome outcome =
        Call(&v1::ServiceManager::Stub::CreateService, request, &response);
    if (arn != nullptr) *arn = response.service().service_arn();
    return outcome;
  }
  std::string RunningWithConnection(const std::string& name,
                                    const std::string& connection) {
    std::string arn;
    Outcome outcome = CreateWithConnection(name, connection, &arn);
    EXPECT_EQ(outcome.code, grpc::StatusCode::OK) << outcome.message;
    FinishOperations();
    return arn;
  }
  Outcome Associate(const std::string& service, const std::string& domain,
                    v1::AssociateCustomDomainResponse* response = nullptr,
                    bool www = false) {
    v1::AssociateCustomDomainRequest request;
    request.set_service_arn(service);
    request.set_domain_name(domain);
    request.set_enable_www_subdomain(www);
    v1::AssociateCustomDomainResponse ignored;
    return Call(&v1::ServiceManager::Stub::AssociateCustomDomain, request,
                response != nullptr ? response : &ignored);
  }
  Outcome Disassociate(
      const std::string& service, const std::string& domain,
      v1::DisassociateCustomDomainResponse* response = nullptr) {
    v1::DisassociateCustomDomainRequest request;
    request.set_service_arn(service);
    request.set_domain_name(domain);
    v1::DisassociateCustomDomainResponse ignored;
    return Call(&v1::ServiceManager::Stub::DisassociateCustomDomain, request,
                response != nullptr ? response : &ignored);
  }
  std::string CertificateOf(const std::string& service,
                            const std::string& domain) {
    v1::AssociateCustomDomainResponse response;
    Outcome outcome = Associate(service, domain, &response);
    EXPECT_EQ(outcome.code, grpc::StatusCode::OK) << outcome.message;
    return response.custom_domain().certificate_id();
  }
  std::vector<std::string> DomainNames(const std::string& service) {
    v1::DescribeCustomDomainsRequest request;
    request.set_service_arn(service);
    v1::DescribeCustomDomainsResponse response;
    Outcome outcome = Call(&v1::ServiceManager::Stub::DescribeCustomDomains,
                           request, &response);
    EXPECT_EQ(outcome.code, grpc::StatusCode::OK) << outcome.message;
    std::vector<std::string> names;
    for (const v1::CustomDomain& domain : response.custom_domains()) {
      names.push_back(domain.domain_name());
    }
    return names;
  }
  absl::StatusOr<store::Purged> RunJanitor() {
    worker::Janitor janitor(*store_, clock_,
                            {.retention = kRetention,
                             .client_token_retention = absl::Hours(24),
                             .certificate_retention = kCertificateRetention});
    return janitor.RunOnce();
  }
  void ExpectRefused(const Outcome& outcome, grpc::StatusCode code,
                     const std::string& error_type,
                     const std::string& message_part) {
    EXPECT_EQ(outcome.code, code) << outcome.message;
    EXPECT_EQ(outcome.error_type, error_type);
    EXPECT_THAT(outcome.message, HasSubstr(message_part));
  }
};

TEST_F(ConnectionsApiTest, CreateConnectionReturnsAnAvailableConnection) {
  v1::Connection connection;
  Outcome outcome = CreateConnection("my-github", v1::GITHUB, &connection);
  ASSERT_EQ(outcome.code, grpc::StatusCode::OK) << outcome.message;
  EXPECT_EQ(connection.connection_name(), "my-github");
  EXPECT_THAT(connection.connection_arn(),
              MatchesRegex("arn:aws:apprunner:us-east-1:123456789012:"
                           "connection/my-github/[0-9a-f]{32}"));
  EXPECT_EQ(connection.provider_type(), v1::GITHUB);
  EXPECT_EQ(connection.status(), v1::Connection::AVAILABLE);
  EXPECT_TRUE(connection.has_created_at());

  ASSERT_EQ(CreateConnection("my-bitbucket", v1::BITBUCKET).code,
            grpc::StatusCode::OK);
  EXPECT_THAT(ConnectionNames(), ElementsAre("my-github", "my-bitbucket"));
  EXPECT_THAT(ConnectionNames("my-bitbucket"), ElementsAre("my-bitbucket"));
  EXPECT_THAT(ConnectionNames("nothing-here"), IsEmpty());
}

TEST_F(ConnectionsApiTest, ListConnectionsPages) {
  for (const char* name : {"conn-one", "conn-two", "conn-three"}) {
    NewConnection(name);
  }
  v1::ListConnectionsRequest request;
  request.set_max_results(2);
  v1::ListConnectionsResponse first;
  ASSERT_EQ(
      Call(&v1::ServiceManager::Stub::ListConnections, request, &first).code,
      grpc::StatusCode::OK);
  ASSERT_EQ(first.connection_summary_list_size(), 2);
  ASSERT_FALSE(first.next_token().empty());
  request.set_next_token(first.next_token());
  v1::ListConnectionsResponse second;
  ASSERT_EQ(
      Call(&v1::ServiceManager::Stub::ListConnections, request, &second).code,
      grpc::StatusCode::OK);
  ASSERT_EQ(second.connection_summary_list_size(), 1);
  EXPECT_EQ(second.connection_summary_list(0).connection_name(), "conn-three");
  EXPECT_TRUE(second.next_token().empty());
}

TEST_F(ConnectionsApiTest, CreateConnectionChecksItsInput) {
  ExpectRefused(CreateConnection("no", v1::GITHUB),
                grpc::StatusCode::INVALID_ARGUMENT, "InvalidRequestException",
                "connection_name");
  ExpectRefused(CreateConnection("has space", v1::GITHUB),
                grpc::StatusCode::INVALID_ARGUMENT, "InvalidRequestException",
                "connection_name");
  ExpectRefused(CreateConnection("no-provider", v1::PROVIDER_TYPE_UNSPECIFIED),
                grpc::StatusCode::INVALID_ARGUMENT, "InvalidRequestException",
                "provider_type");
  NewConnection("taken-name");
  ExpectRefused(CreateConnection("taken-name", v1::BITBUCKET),
                grpc::StatusCode::ALREADY_EXISTS, "InvalidRequestException",
                "connection_name: a connection named taken-name");
  EXPECT_THAT(ConnectionNames(), ElementsAre("taken-name"));
}

TEST_F(ConnectionsApiTest, AServiceReferencesAnExistingConnectionOnly) {
  const std::string connection = NewConnection("source-conn");
  const std::string arn = RunningWithConnection("uses-conn", connection);
  EXPECT_EQ(Describe(arn)
                .source_configuration()
                .authentication_configuration()
                .connection_arn(),
            connection);

  const std::string unknown =
      "arn:aws:apprunner:us-east-1:123456789012:connection/source-conn/"
      "ffffffffffffffffffffffffffffffff";
  ExpectRefused(CreateWithConnection("unknown-conn", unknown),
                grpc::StatusCode::INVALID_ARGUMENT, "InvalidRequestException",
                "source_configuration.authentication_configuration."
                "connection_arn: no connection source-conn/");
  std::string other_account = connection;
  other_account.replace(other_account.find("123456789012"), 12, "999999999999");
  ExpectRefused(CreateWithConnection("other-account", other_account),
                grpc::StatusCode::INVALID_ARGUMENT, "InvalidRequestException",
                "connection_arn: no connection with ARN");
  ExpectRefused(CreateWithConnection("bad-conn-arn", "not-an-arn"),
                grpc::StatusCode::INVALID_ARGUMENT, "InvalidRequestException",
                "connection_arn");
  EXPECT_THAT(ListedNames(), ElementsAre("uses-conn"));
}

TEST_F(ConnectionsApiTest, DeletingAServiceNeverDeletesItsConnection) {
  const std::string connection = NewConnection("shared-conn");
  const std::string arn = RunningWithConnection("short-lived", connection);
  ASSERT_EQ(Delete(arn).code, grpc::StatusCode::OK);
  FinishOperations();
  ASSERT_EQ(Describe(arn).status(), v1::DELETED);
  EXPECT_THAT(ConnectionNames(), ElementsAre("shared-conn"));
  // And another service can use it.
  RunningWithConnection("next-user", connection);
  EXPECT_EQ(Describe(arn)
                .source_configuration()
                .authentication_configuration()
                .connection_arn(),
            "");
}

TEST_F(ConnectionsApiTest, AConnectionInUseCannotBeDeleted) {
  const std::string connection = NewConnection("busy-conn");
  const std::string running = RunningWithConnection("running-user", connection);
  ExpectRefused(DeleteConnection(connection),
                grpc::StatusCode::FAILED_PRECONDITION, "InvalidStateException",
                "it is used by service running-user/" + ServiceId(running) +
                    " (RUNNING)");
  EXPECT_THAT(ConnectionNames(), ElementsAre("busy-conn"));

  // A failed or deleting service still uses it until it is DELETED.
  ASSERT_EQ(Delete(running).code, grpc::StatusCode::OK);
  ExpectRefused(DeleteConnection(connection),
                grpc::StatusCode::FAILED_PRECONDITION, "InvalidStateException",
                "(OPERATION_IN_PROGRESS)");
  FinishOperations();

  v1::Connection deleted;
  ASSERT_EQ(DeleteConnection(connection, &deleted).code, grpc::StatusCode::OK);
  EXPECT_EQ(deleted.connection_arn(), connection);
  EXPECT_EQ(deleted.status(), v1::Connection::DELETED);
  EXPECT_THAT(ConnectionNames(), IsEmpty());
  ExpectRefused(DeleteConnection(connection), grpc::StatusCode::NOT_FOUND,
                "ResourceNotFoundException", "does not exist");
  // A deleted connection cannot be referenced any more.
  ExpectRefused(CreateWithConnection("late-user", connection),
                grpc::StatusCode::INVALID_ARGUMENT, "InvalidRequestException",
                "no connection busy-conn/");
}

TEST_F(ConnectionsApiTest, APausedServicesConnectionCannotBeDeleted) {
  const std::string connection = NewConnection("paused-conn");
  const std::string arn = RunningWithConnection("sleeper", connection);
  ASSERT_EQ(Pause(arn).code, grpc::StatusCode::OK);
  FinishOperations();
  ASSERT_EQ(Describe(arn).status(), v1::PAUSED);
  ExpectRefused(DeleteConnection(connection),
                grpc::StatusCode::FAILED_PRECONDITION, "InvalidStateException",
                "a service that uses it is PAUSED");
  EXPECT_THAT(ConnectionNames(), ElementsAre("paused-conn"));
}

TEST_F(ConnectionsApiTest, APausedServiceCannotTakeAConnection) {
  // CreateConnection names no service; a service takes a connection through
  // UpdateService, which a PAUSED service refuses.
  const std::string connection = NewConnection("later-conn");
  const std::string arn = CreateRunning("paused-web");
  ASSERT_EQ(Pause(arn).code, grpc::StatusCode::OK);
  FinishOperations();
  v1::UpdateServiceRequest request;
  request.set_service_arn(arn);
  *request.mutable_source_configuration() =
      Describe(arn).source_configuration();
  request.mutable_source_configuration()
      ->mutable_authentication_configuration()
      ->set_connection_arn(connection);
  v1::UpdateServiceResponse response;
  ExpectRefused(
      Call(&v1::ServiceManager::Stub::UpdateService, request, &response),
      grpc::StatusCode::FAILED_PRECONDITION, "InvalidStateException",
      "the service is PAUSED");
  ASSERT_EQ(DeleteConnection(connection).code, grpc::StatusCode::OK)
      << "the paused service never took it";
}

TEST_F(ConnectionsApiTest, AnUpdateMovesAServiceToAnotherConnection) {
  const std::string first = NewConnection("first-conn");
  const std::string second = NewConnection("second-conn");
  const std::string arn = RunningWithConnection("mover", first);
  v1::UpdateServiceRequest request;
  request.set_service_arn(arn);
  *request.mutable_source_configuration() =
      Describe(arn).source_configuration();
  request.mutable_source_configuration()
      ->mutable_authentication_configuration()
      ->set_connection_arn(second);
  v1::UpdateServiceResponse response;
  ASSERT_EQ(
      Call(&v1::ServiceManager::Stub::UpdateService, request, &response).code,
      grpc::StatusCode::OK);
  FinishOperations();
  EXPECT_EQ(Describe(arn)
                .source_configuration()
                .authentication_configuration()
                .connection_arn(),
            second);
  EXPECT_EQ(DeleteConnection(first).code, grpc::StatusCode::OK);
  EXPECT_EQ(DeleteConnection(second).code,
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(ConnectionsApiTest, TagsWorkOnConnections) {
  const std::string connection = NewConnection("tagged-conn");
  EXPECT_THAT(Tags(connection), ElementsAre(std::pair<std::string, std::string>(
                                    "owner", "platform")));
  ASSERT_EQ(Tag(connection, "env", "prod").code, grpc::StatusCode::OK);
  ASSERT_EQ(Untag(connection, "owner").code, grpc::StatusCode::OK);
  EXPECT_THAT(Tags(connection),
              ElementsAre(std::pair<std::string, std::string>("env", "prod")));
  ExpectRefused(Tag(connection, "aws:reserved", "x"),
                grpc::StatusCode::INVALID_ARGUMENT, "InvalidRequestException",
                "tags");
  ASSERT_EQ(DeleteConnection(connection).code, grpc::StatusCode::OK);
  ExpectRefused(Tag(connection, "env", "dev"), grpc::StatusCode::NOT_FOUND,
                "ResourceNotFoundException", "tagged-conn");
  v1::ListTagsForResourceRequest request;
  request.set_resource_arn(connection);
  v1::ListTagsForResourceResponse response;
  EXPECT_EQ(
      Call(&v1::ServiceManager::Stub::ListTagsForResource, request, &response)
          .code,
      grpc::StatusCode::NOT_FOUND);
}

TEST_F(ConnectionsApiTest, ADomainIsLinkedWithACertificateRecord) {
  const std::string arn = CreateRunning("domain-web");
  v1::AssociateCustomDomainResponse response;
  Outcome outcome = Associate(arn, "Shop.Example.com", &response, true);
  ASSERT_EQ(outcome.code, grpc::StatusCode::OK) << outcome.message;
  EXPECT_EQ(response.dns_target(), Describe(arn).service_url());
  EXPECT_EQ(response.service_arn(), arn);
  const v1::CustomDomain& domain = response.custom_domain();
  EXPECT_EQ(domain.domain_name(), "shop.example.com");
  EXPECT_TRUE(domain.enable_www_subdomain());
  EXPECT_EQ(domain.status(), v1::CustomDomain::ACTIVE);
  EXPECT_THAT(domain.certificate_id(), MatchesRegex("[0-9a-f]{32}"));
  ASSERT_EQ(domain.certificate_validation_records_size(), 2);
  EXPECT_EQ(domain.certificate_validation_records(1).name(),
            "_sm-" + domain.certificate_id() + ".www.shop.example.com.");
  EXPECT_EQ(domain.certificate_validation_records(1).type(), "CNAME");
  EXPECT_THAT(DomainNames(arn), ElementsAre("shop.example.com"));
}

TEST_F(ConnectionsApiTest, DomainNamesMustBeValidDnsNames) {
  const std::string arn = CreateRunning("dns-web");
  for (const char* bad :
       {"", "localhost", "-bad.example.com", "bad-.example.com",
        "two..dots.com", "under_score.com", "trailing.dot.", "*.", "sp ace.com",
        "a.b*c.com"}) {
    ExpectRefused(Associate(arn, bad), grpc::StatusCode::INVALID_ARGUMENT,
                  "InvalidRequestException", "domain_name");
  }
  ExpectRefused(Associate(arn, std::string(64, 'a') + ".com"),
                grpc::StatusCode::INVALID_ARGUMENT, "InvalidRequestException",
                "domain_name");
  EXPECT_EQ(Associate(arn, "*.wild.example.com").code, grpc::StatusCode::OK);
  EXPECT_THAT(DomainNames(arn), ElementsAre("*.wild.example.com"));
}

TEST_F(ConnectionsApiTest, ADomainLinksToOneServiceAtATime) {
  const std::string first = CreateRunning("first-web");
  const std::string second = CreateRunning("second-web");
  ASSERT_EQ(Associate(first, "one.example.com").code, grpc::StatusCode::OK);
  ExpectRefused(Associate(second, "ONE.example.com"),
                grpc::StatusCode::ALREADY_EXISTS, "InvalidRequestException",
                "domain_name: one.example.com is already linked to service "
                "first-web");
  ExpectRefused(Associate(first, "one.example.com"),
                grpc::StatusCode::ALREADY_EXISTS, "InvalidRequestException",
                "already linked to this service");
  ExpectRefused(Disassociate(second, "one.example.com"),
                grpc::StatusCode::NOT_FOUND, "ResourceNotFoundException",
                "not linked to service second-web");
  EXPECT_THAT(DomainNames(second), IsEmpty());

  ASSERT_EQ(Disassociate(first, "one.example.com").code, grpc::StatusCode::OK);
  EXPECT_EQ(Associate(second, "one.example.com").code, grpc::StatusCode::OK);
  EXPECT_THAT(DomainNames(first), IsEmpty());
  EXPECT_THAT(DomainNames(second), ElementsAre("one.example.com"));
}

TEST_F(ConnectionsApiTest, DomainChangesAreRefusedWhilePaused) {
  const std::string arn = CreateRunning("paused-domains");
  ASSERT_EQ(Associate(arn, "kept.example.com").code, grpc::StatusCode::OK);
  ASSERT_EQ(Pause(arn).code, grpc::StatusCode::OK);
  // While the pause runs: OPERATION_IN_PROGRESS.
  ExpectRefused(Associate(arn, "new.example.com"),
                grpc::StatusCode::FAILED_PRECONDITION, "InvalidStateException",
                "the service is OPERATION_IN_PROGRESS");
  FinishOperations();
  ExpectRefused(Associate(arn, "new.example.com"),
                grpc::StatusCode::FAILED_PRECONDITION, "InvalidStateException",
                "cannot associate a custom domain: the service is PAUSED");
  ExpectRefused(Disassociate(arn, "kept.example.com"),
                grpc::StatusCode::FAILED_PRECONDITION, "InvalidStateException",
                "cannot disassociate a custom domain: the service is PAUSED");
  EXPECT_THAT(DomainNames(arn), ElementsAre("kept.example.com"));

  ASSERT_EQ(Resume(arn).code, grpc::StatusCode::OK);
  FinishOperations();
  EXPECT_EQ(Associate(arn, "new.example.com").code, grpc::StatusCode::OK);
  EXPECT_EQ(Disassociate(arn, "kept.example.com").code, grpc::StatusCode::OK);
  EXPECT_THAT(DomainNames(arn), ElementsAre("new.example.com"));
}

TEST_F(ConnectionsApiTest,
       ACertificateIsKeptSevenDaysAfterItsDomainIsUnlinked) {
  const std::string arn = CreateRunning("cert-web");
  const std::string certificate = CertificateOf(arn, "cert.example.com");
  v1::DisassociateCustomDomainResponse unlinked;
  ASSERT_EQ(Disassociate(arn, "cert.example.com", &unlinked).code,
            grpc::StatusCode::OK);
  EXPECT_EQ(unlinked.custom_domain().status(), v1::CustomDomain::DELETING);
  EXPECT_EQ(unlinked.custom_domain().certificate_id(), certificate);
  EXPECT_THAT(DomainNames(arn), IsEmpty());

  // Just inside the retention: the janitor keeps it and a relink reuses it.
  clock_.Advance(kCertificateRetention - absl::Seconds(1));
  auto purged = RunJanitor();
  ASSERT_TRUE(purged.ok()) << purged.status();
  EXPECT_EQ(purged->certificates, 0);
  EXPECT_EQ(CertificateOf(arn, "cert.example.com"), certificate);

  // Linked, it is never purged, however long.
  clock_.Advance(kCertificateRetention * 2);
  purged = RunJanitor();
  ASSERT_TRUE(purged.ok());
  EXPECT_EQ(purged->certificates, 0);

  // Unlinked again, past the retention: purged; a new link gets a new one.
  ASSERT_EQ(Disassociate(arn, "cert.example.com").code, grpc::StatusCode::OK);
  clock_.Advance(kCertificateRetention + absl::Seconds(1));
  purged = RunJanitor();
  ASSERT_TRUE(purged.ok());
  EXPECT_EQ(purged->certificates, 1);
  const std::string renewed = CertificateOf(arn, "cert.example.com");
  EXPECT_THAT(renewed, Ne(certificate));
  EXPECT_THAT(renewed, MatchesRegex("[0-9a-f]{32}"));
}

TEST_F(ConnectionsApiTest, DomainChangesAreAllowedAfterAFailedCreateOrDelete) {
  runtime_.Fail(testing::FaultyRuntime::Call::kDeploy);
  const std::string failed = Create("failed-create").service().service_arn();
  FinishOperations();
  runtime_.Heal();
  ASSERT_EQ(Describe(failed).status(), v1::CREATE_FAILED);
  EXPECT_EQ(Associate(failed, "failed.example.com").code, grpc::StatusCode::OK);
  EXPECT_EQ(Disassociate(failed, "failed.example.com").code,
            grpc::StatusCode::OK);

  const std::string stuck = CreateRunning("failed-delete");
  ASSERT_EQ(Associate(stuck, "stuck.example.com").code, grpc::StatusCode::OK);
  runtime_.Fail(testing::FaultyRuntime::Call::kRemove);
  ASSERT_EQ(Delete(stuck).code, grpc::StatusCode::OK);
  FinishOperations();
  runtime_.Heal();
  ASSERT_EQ(Describe(stuck).status(), v1::DELETE_FAILED);
  EXPECT_THAT(DomainNames(stuck), ElementsAre("stuck.example.com"))
      << "a failed delete purges nothing";
  EXPECT_EQ(Disassociate(stuck, "stuck.example.com").code,
            grpc::StatusCode::OK);
  EXPECT_EQ(Associate(stuck, "stuck.example.com").code, grpc::StatusCode::OK);
}

TEST_F(ConnectionsApiTest, DeleteFollowsThePurgeList) {
  const std::string connection = NewConnection("kept-conn");
  const std::string arn = RunningWithConnection("purged-web", connection);
  const std::string certificate = CertificateOf(arn, "purged.example.com");
  ASSERT_EQ(Tag(arn, "env", "prod").code, grpc::StatusCode::OK);
  ASSERT_EQ(Delete(arn).code, grpc::StatusCode::OK);
  // Refused on the deleting service, and on the deleted one.
  ExpectRefused(Disassociate(arn, "purged.example.com"),
                grpc::StatusCode::FAILED_PRECONDITION, "InvalidStateException",
                "OPERATION_IN_PROGRESS");
  FinishOperations();
  ExpectRefused(Associate(arn, "other.example.com"),
                grpc::StatusCode::FAILED_PRECONDITION, "InvalidStateException",
                "the service is DELETED");

  // Removed: configuration, image, tags, domain links.
  const v1::Service deleted = Describe(arn);
  EXPECT_EQ(deleted.status(), v1::DELETED);
  EXPECT_FALSE(deleted.has_source_configuration());
  EXPECT_FALSE(deleted.has_latest_image());
  EXPECT_THAT(Tags(arn), IsEmpty());
  EXPECT_THAT(DomainNames(arn), IsEmpty());
  // Kept: the connection, the certificate record, the operation history.
  EXPECT_THAT(ConnectionNames(), ElementsAre("kept-conn"));
  std::vector<v1::OperationSummary> ops = Operations(arn);
  ASSERT_EQ(ops.size(), 2u);
  EXPECT_EQ(ops[0].type(), v1::DELETE_SERVICE);
  EXPECT_EQ(ops[1].type(), v1::CREATE_SERVICE);
  const std::string next = CreateRunning("next-web");
  clock_.Advance(kCertificateRetention - absl::Seconds(1));
  ASSERT_TRUE(RunJanitor().ok());
  EXPECT_EQ(CertificateOf(next, "purged.example.com"), certificate)
      << "the certificate record outlives its deleted service for 7 days";
}

TEST_F(ConnectionsApiTest, ADeletedServicesCertificateIsPurgedAfterSevenDays) {
  const std::string arn = CreateRunning("gone-web");
  const std::string certificate = CertificateOf(arn, "gone.example.com");
  ASSERT_EQ(Delete(arn).code, grpc::StatusCode::OK);
  FinishOperations();
  clock_.Advance(kCertificateRetention + absl::Seconds(1));
  auto purged = RunJanitor();
  ASSERT_TRUE(purged.ok()) << purged.status();
  EXPECT_EQ(purged->certificates, 1);
  EXPECT_EQ(purged->services, 0) << "the service row has its own retention";
  const std::string next = CreateRunning("next-web");
  EXPECT_THAT(CertificateOf(next, "gone.example.com"), Ne(certificate));

  // The deleted service itself goes after the (longer) service retention,
  // its domain links already gone.
  clock_.Advance(kRetention);
  purged = RunJanitor();
  ASSERT_TRUE(purged.ok()) << purged.status();
  EXPECT_EQ(purged->services, 1);
}

TEST_F(ConnectionsApiTest, DescribeCustomDomainsPages) {
  const std::string arn = CreateRunning("many-domains");
  for (const char* domain :
       {"a.example.com", "b.example.com", "c.example.com"}) {
    ASSERT_EQ(Associate(arn, domain).code, grpc::StatusCode::OK);
  }
  v1::DescribeCustomDomainsRequest request;
  request.set_service_arn(arn);
  request.set_max_results(2);
  v1::DescribeCustomDomainsResponse first;
  ASSERT_EQ(
      Call(&v1::ServiceManager::Stub::DescribeCustomDomains, request, &first)
          .code,
      grpc::StatusCode::OK);
  ASSERT_EQ(first.custom_domains_size(), 2);
  ASSERT_FALSE(first.next_token().empty());
  request.set_next_token(first.next_token());
  v1::DescribeCustomDomainsResponse second;
  ASSERT_EQ(
      Call(&v1::ServiceManager::Stub::DescribeCustomDomains, request, &second)
          .code,
      grpc::StatusCode::OK);
  ASSERT_EQ(second.custom_domains_size(), 1);
  EXPECT_EQ(second.custom_domains(0).domain_name(), "c.example.com");
  EXPECT_TRUE(second.next_token().empty());

  // The token is for this service's listing only.
  const std::string other = CreateRunning("other-domains");
  request.set_service_arn(other);
  v1::DescribeCustomDomainsResponse refused;
  EXPECT_EQ(
      Call(&v1::ServiceManager::Stub::DescribeCustomDomains, request, &refused)
          .code,
      grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace servicemanager::api
