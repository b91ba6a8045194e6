#include "api/authorizer.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/auth_context.h>

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace servicemanager::api {
namespace {

absl::string_view ToView(grpc::string_ref ref) {
  return absl::string_view(ref.data(), ref.size());
}

}  // namespace

Authorizer::Authorizer(AuthorizerOptions options)
    : options_(std::move(options)) {}

absl::StatusOr<auth::Principal> Authorizer::Authenticate(
    const grpc::ServerContextBase& context) const {
  std::shared_ptr<const auth::Principals> principals =
      options_.tokens->Current();
  const auto& metadata = context.client_metadata();
  if (auto header = metadata.find("authorization"); header != metadata.end()) {
    absl::string_view value = ToView(header->second);
    if (!absl::ConsumePrefix(&value, "Bearer ") &&
        !absl::ConsumePrefix(&value, "bearer ")) {
      return absl::UnauthenticatedError(
          "authorization: expected \"Bearer TOKEN\"");
    }
    const std::string token(absl::StripAsciiWhitespace(value));
    if (const auth::Principal* principal = principals->ByToken(token)) {
      return *principal;
    }
    if (auto key =
            options_.access_key_token_hashes.find(auth::HashToken(token));
        key != options_.access_key_token_hashes.end()) {
      if (const auth::Principal* principal =
              principals->ByAwsAccessKey(key->second)) {
        return *principal;
      }
    }
    return absl::UnauthenticatedError("authorization: unknown bearer token");
  }
  // A certificate's names count only once the TLS handshake verified it
  // against --tls-client-ca.
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth != nullptr && auth->IsPeerAuthenticated()) {
    for (const char* property :
         {"x509_common_name", "x509_subject_alternative_name"}) {
      for (grpc::string_ref name : auth->FindPropertyValues(property)) {
        if (const auth::Principal* principal =
                principals->ByCertificateName(ToView(name))) {
          return *principal;
        }
      }
    }
    return absl::UnauthenticatedError(
        "the client certificate names no principal, and there is no "
        "authorization: Bearer TOKEN");
  }
  return absl::UnauthenticatedError(
      "authorization: a bearer token is required (authorization: Bearer "
      "TOKEN)");
}

absl::StatusOr<Caller> Authorizer::Authorize(
    const grpc::ServerContextBase& context, Access access) const {
  if (options_.tokens == nullptr) {
    return Caller{options_.account_id, domain::AccountScope{}};
  }
  absl::StatusOr<auth::Principal> principal = Authenticate(context);
  if (!principal.ok()) {
    return principal.status();
  }
  if (access == Access::kWrite && principal->role == auth::Role::kReadOnly) {
    return absl::PermissionDeniedError(
        absl::StrCat("principal ", principal->name,
                     " is read-only: it may list, describe, wait and watch"));
  }
  domain::AccountScope scope;
  if (principal->role != auth::Role::kAdmin) {
    scope.account_id = principal->account_id;
  }
  return Caller{principal->account_id, std::move(scope)};
}

}  // namespace servicemanager::api
