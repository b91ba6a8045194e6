// The gRPC server's TLS: its certificate and key, and optionally the CA that
// client certificates must chain to (mTLS), all from PEM files that are read
// again when they change (a renewed certificate takes effect without a
// restart).
#ifndef SERVICEMANAGER_SERVER_API_TLS_CREDENTIALS_H_
#define SERVICEMANAGER_SERVER_API_TLS_CREDENTIALS_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace servicemanager::api {

struct TlsFiles {
  std::string certificate;  // The server's certificate chain.
  std::string private_key;  // Its key.
  // Empty: clients present no certificate. Otherwise every client must
  // present one that this CA (bundle) verifies.
  std::string client_ca;
};

// Checks the files now (readable PEM, the key is the certificate's): an
// INVALID_ARGUMENT naming the file otherwise. Then the credentials, which
// look at the files again every `refresh`.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> TlsServerCredentials(
    const TlsFiles& files, absl::Duration refresh);

}  // namespace servicemanager::api

#endif  // SERVICEMANAGER_SERVER_API_TLS_CREDENTIALS_H_
