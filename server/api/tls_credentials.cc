#include "api/tls_credentials.h"

#include <grpc/grpc_security_constants.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace servicemanager::api {
namespace {

struct FileCloser {
  void operator()(FILE* file) const { std::fclose(file); }
};
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};

using File = std::unique_ptr<FILE, FileCloser>;

absl::StatusOr<File> OpenFile(const std::string& path, const char* flag) {
  File file(std::fopen(path.c_str(), "rb"));
  if (file == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " ", path, ": cannot be read"));
  }
  return file;
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> TlsServerCredentials(
    const TlsFiles& files, absl::Duration refresh) {
  absl::StatusOr<File> cert_file = OpenFile(files.certificate, "--tls-cert");
  if (!cert_file.ok()) return cert_file.status();
  std::unique_ptr<X509, X509Free> cert(
      PEM_read_X509(cert_file->get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls-cert ", files.certificate, ": no PEM certificate"));
  }
  absl::StatusOr<File> key_file = OpenFile(files.private_key, "--tls-key");
  if (!key_file.ok()) return key_file.status();
  std::unique_ptr<EVP_PKEY, KeyFree> key(
      PEM_read_PrivateKey(key_file->get(), nullptr, nullptr, nullptr));
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls-key ", files.private_key, ": no PEM private key"));
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls-key ", files.private_key,
                     " is not the key of --tls-cert ", files.certificate));
  }
  if (!files.client_ca.empty()) {
    absl::StatusOr<File> ca_file = OpenFile(files.client_ca, "--tls-client-ca");
    if (!ca_file.ok()) return ca_file.status();
    std::unique_ptr<X509, X509Free> ca(
        PEM_read_X509(ca_file->get(), nullptr, nullptr, nullptr));
    if (ca == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--tls-client-ca ", files.client_ca, ": no PEM certificate"));
    }
  }

  const auto seconds = static_cast<unsigned int>(absl::ToInt64Seconds(refresh));
  std::shared_ptr<grpc::experimental::CertificateProviderInterface> provider;
  if (files.client_ca.empty()) {
    provider =
        std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
            files.private_key, files.certificate, seconds);
  } else {
    provider =
        std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
            files.private_key, files.certificate, files.client_ca, seconds);
  }
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (files.client_ca.empty()) {
    options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  } else {
    options.watch_root_certs();
    options.set_cert_request_type(
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  }
  return grpc::experimental::TlsServerCredentials(options);
}

}  // namespace servicemanager::api
