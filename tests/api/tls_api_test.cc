// TLS and mTLS on the real gRPC server, with a CA made at test time: the
// handshake with the test CA works, plaintext and strangers are refused, and
// a verified client certificate names its principal.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "api/authorizer.h"
#include "api/tls_credentials.h"
#include "auth/principals.h"
#include "servicemanager/v1/service_manager.grpc.pb.h"
#include "tests/api/api_test_fixture.h"
#include "tests/testing/test_ca.h"

namespace servicemanager::api {
namespace {

using ::servicemanager::testing::KeyPair;
using ::servicemanager::testing::ReadPem;
using ::servicemanager::testing::TestCa;
using ::testing::StartsWith;

constexpr char kDeployerAccount[] = "333333333333";

// The CAs and certificates of every test here, made once.
struct Pki {
  std::filesystem::path dir;
  std::unique_ptr<TestCa> ca;        // The server's and the clients' CA.
  std::unique_ptr<TestCa> stranger;  // A CA nobody trusts.
  KeyPair server;
  KeyPair deployer;  // A client the tokens file names.
  KeyPair unknown;   // A client the CA signed but no principal has.
  KeyPair rogue;     // A "deployer" from the stranger CA.
};
Pki* pki = nullptr;

std::shared_ptr<grpc::ChannelCredentials> ClientCredentials(
    const std::string& roots, const KeyPair* client) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ReadPem(roots);
  if (client != nullptr) {
    options.pem_cert_chain = ReadPem(client->certificate);
    options.pem_private_key = ReadPem(client->key);
  }
  return grpc::SslCredentials(options);
}

class TlsApiTest : public ApiTest {
 protected:
  static void SetUpTestSuite() {
    pki = new Pki;
    pki->dir = std::filesystem::temp_directory_path() /
               absl::StrCat("sm-tls-test-", getpid());
    std::filesystem::create_directories(pki->dir);
    pki->ca = std::make_unique<TestCa>(pki->dir, "trusted");
    pki->stranger = std::make_unique<TestCa>(pki->dir, "stranger");
    pki->server = pki->ca->IssueServer();
    pki->deployer =
        pki->ca->Issue("deployer", "deployer", "DNS:deployer.example");
    pki->unknown = pki->ca->Issue("unknown", "unknown", "DNS:unknown.example");
    pki->rogue =
        pki->stranger->Issue("deployer", "deployer", "DNS:deployer.example");
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(pki->dir);
    delete pki;
    pki = nullptr;
  }

  void SetUp() override {
    ASSERT_TRUE(pki->ca->ok() && pki->stranger->ok())
        << "the openssl command could not make the test CA";
    ApiTest::SetUp();
  }

  // Empty: no client certificates.
  virtual std::string ClientCa() { return ""; }

  std::shared_ptr<grpc::ServerCredentials> ServerCredentials() override {
    auto credentials = TlsServerCredentials(
        {pki->server.certificate, pki->server.key, ClientCa()},
        absl::Minutes(1));
    EXPECT_TRUE(credentials.ok()) << credentials.status();
    return credentials.ok() ? *credentials : grpc::InsecureServerCredentials();
  }
  std::shared_ptr<grpc::ChannelCredentials> ChannelCredentials() override {
    return ClientCredentials(pki->ca->certificate(), nullptr);
  }

  // What ListServices answers over a channel with `credentials`.
  grpc::Status ListWith(std::shared_ptr<grpc::ChannelCredentials> credentials) {
    auto stub = v1::ServiceManager::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", port_), std::move(credentials)));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    v1::ListServicesResponse response;
    return stub->ListServices(&context, {}, &response);
  }
};

TEST_F(TlsApiTest, TheHandshakeWithTheTestCaWorks) {
  EXPECT_THAT(Create("web-app").service().service_arn(),
              StartsWith("arn:aws:apprunner:"));
  EXPECT_TRUE(ListWith(ChannelCredentials()).ok());
}

TEST_F(TlsApiTest, PlaintextIsRefused) {
  EXPECT_EQ(ListWith(grpc::InsecureChannelCredentials()).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsApiTest, AClientThatDoesNotTrustTheServersCaIsRefused) {
  EXPECT_EQ(ListWith(ClientCredentials(pki->stranger->certificate(), nullptr))
                .error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST(TlsCredentialsTest, FilesAreCheckedAtStartup) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() /
      absl::StrCat("sm-tls-files-test-", getpid());
  std::filesystem::create_directories(dir);
  TestCa ca(dir, "check");
  KeyPair one = ca.IssueServer();
  KeyPair two = ca.Issue("two", "two", "DNS:two");
  ASSERT_TRUE(ca.ok());
  EXPECT_TRUE(
      TlsServerCredentials({one.certificate, one.key, ""}, absl::Minutes(1))
          .ok());
  auto mismatched =
      TlsServerCredentials({one.certificate, two.key, ""}, absl::Minutes(1));
  EXPECT_EQ(mismatched.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(mismatched.status().message()),
              ::testing::HasSubstr("--tls-key"));
  auto missing = TlsServerCredentials(
      {(dir / "none.pem").string(), one.key, ""}, absl::Minutes(1));
  EXPECT_THAT(std::string(missing.status().message()),
              ::testing::HasSubstr("--tls-cert"));
  auto no_ca = TlsServerCredentials({one.certificate, one.key, one.key},
                                    absl::Minutes(1));
  EXPECT_THAT(std::string(no_ca.status().message()),
              ::testing::HasSubstr("--tls-client-ca"));
  std::filesystem::remove_all(dir);
}

// Client certificates required, and auth on: the tokens file names the
// deployer's certificate.
class MtlsApiTest : public TlsApiTest {
 protected:
  std::string ClientCa() override { return pki->ca->certificate(); }

  std::shared_ptr<grpc::ChannelCredentials> ChannelCredentials() override {
    return ClientCredentials(pki->ca->certificate(), &pki->deployer);
  }

  AuthorizerOptions MakeAuthorizerOptions() override {
    const std::string path = (dir_ / "tokens").string();
    std::ofstream(path) << "deployer " << kDeployerAccount
                        << " operator cert:deployer.example\n";
    auto tokens = auth::TokensFile::Open(path, clock_);
    EXPECT_TRUE(tokens.ok()) << tokens.status();
    tokens_ = *std::move(tokens);
    AuthorizerOptions options;
    options.account_id = kAccount;
    options.tokens = tokens_.get();
    return options;
  }

  std::unique_ptr<auth::TokensFile> tokens_;
};

TEST_F(MtlsApiTest, TheClientCertificateNamesThePrincipal) {
  EXPECT_THAT(Create("web-app").service().service_arn(),
              StartsWith(absl::StrCat("arn:aws:apprunner:us-east-1:",
                                      kDeployerAccount, ":service/web-app/")));
}

TEST_F(MtlsApiTest, NoClientCertificateIsRefused) {
  EXPECT_EQ(
      ListWith(ClientCredentials(pki->ca->certificate(), nullptr)).error_code(),
      grpc::StatusCode::UNAVAILABLE);
}

TEST_F(MtlsApiTest, AClientCertificateOfAnotherCaIsRefused) {
  EXPECT_EQ(ListWith(ClientCredentials(pki->ca->certificate(), &pki->rogue))
                .error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(MtlsApiTest, AVerifiedCertificateNoPrincipalHasIsUnauthenticated) {
  EXPECT_EQ(ListWith(ClientCredentials(pki->ca->certificate(), &pki->unknown))
                .error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

}  // namespace
}  // namespace servicemanager::api
