// Authentication and authorization of API calls, in one place: every handler
// asks Authorize first. A caller is identified by its bearer token
// ("authorization: Bearer TOKEN"), or by the verified client certificate of
// its TLS connection (mTLS), as the tokens file says; the principal's role
// decides what it may call and its account what it may touch.
//
// Thread-safe.
#ifndef SERVICEMANAGER_SERVER_API_AUTHORIZER_H_
#define SERVICEMANAGER_SERVER_API_AUTHORIZER_H_

#include <grpcpp/grpcpp.h>

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "auth/principals.h"
#include "domain/arn.h"

namespace servicemanager::api {

// What a method does: reads (List, Describe, Wait, Watch) or changes.
enum class Access { kRead, kWrite };

// Who is calling, for the handlers: where it creates services and which
// accounts it may reach.
struct Caller {
  std::string account_id;
  domain::AccountScope scope;
};

struct AuthorizerOptions {
  // The server's --account-id: with auth off, every caller is an admin that
  // creates services in it.
  std::string account_id;
  // Null: auth off (local development on loopback only; main checks).
  // Otherwise it must outlive the authorizer.
  auth::TokensFile* tokens = nullptr;
  // Bearer tokens that stand for access keys of the tokens file's aws:
  // lines, by HashToken: the App Runner endpoint's, made at startup.
  absl::flat_hash_map<std::string, std::string> access_key_token_hashes = {};
};

class Authorizer {
 public:
  explicit Authorizer(AuthorizerOptions options);

  // The caller of the call `context` belongs to, if it may make a call of
  // `access`:
  // - UNAUTHENTICATED if it presents no credential, or one nobody has (a
  //   bad "authorization" header is never made up for by a certificate);
  // - PERMISSION_DENIED if its role is read-only and `access` is kWrite.
  absl::StatusOr<Caller> Authorize(const grpc::ServerContextBase& context,
                                   Access access) const;

 private:
  // The principal by the call's token or certificate.
  absl::StatusOr<auth::Principal> Authenticate(
      const grpc::ServerContextBase& context) const;

  const AuthorizerOptions options_;
};

}  // namespace servicemanager::api

#endif  // SERVICEMANAGER_SERVER_API_AUTHORIZER_H_
