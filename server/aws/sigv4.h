// AWS Signature Version 4, verified the way AWS verifies it: the canonical
// request, the string to sign, the signing key derived from the secret, and a
// constant-time comparison of the signatures (HMAC-SHA256 from OpenSSL).
// Only the Authorization header form is accepted (not presigned URLs), and the
// payload is always hashed from the body received.
#ifndef SERVICEMANAGER_SERVER_AWS_SIGV4_H_
#define SERVICEMANAGER_SERVER_AWS_SIGV4_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace servicemanager::aws {

// One line of the credentials file.
struct AwsCredential {
  std::string access_key_id;
  std::string secret_access_key;
  std::string account_id;  // 12 digits.
};

// The credentials file: one key per line, "ACCESS_KEY_ID SECRET_ACCESS_KEY
// ACCOUNT_ID" separated by spaces or tabs; blank lines and lines starting
// with '#' are skipped. An access key id appears once.
absl::StatusOr<std::vector<AwsCredential>> ParseCredentials(
    absl::string_view text);
absl::StatusOr<std::vector<AwsCredential>> ReadCredentialsFile(
    const std::string& path);

// A request as received.
struct HttpRequestView {
  absl::string_view method;
  // The request-target as sent: the path, percent-encoded, and the query.
  absl::string_view target;
  // Names in any case; a name may repeat.
  std::vector<std::pair<std::string, std::string>> headers;
  absl::string_view body;
};

// The steps of SigV4, exposed for the tests against AWS's published examples.
std::string Sha256Hex(absl::string_view data);
// `signed_headers` are lowercase and sorted, as in SignedHeaders.
std::string CanonicalRequest(const HttpRequestView& request,
                             const std::vector<std::string>& signed_headers);
std::string StringToSign(absl::string_view amz_date, absl::string_view scope,
                         absl::string_view canonical_request);
// Raw bytes of HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region),
// service), "aws4_request").
std::string SigningKey(absl::string_view secret, absl::string_view date,
                       absl::string_view region, absl::string_view service);
// Lowercase hex of HMAC(signing key, string to sign).
std::string Signature(absl::string_view signing_key,
                      absl::string_view string_to_sign);

// Thread-safe.
class SigV4Verifier {
 public:
  // How far a request's X-Amz-Date may be from the server's clock, as AWS
  // allows.
  static constexpr absl::Duration kMaxSkew = absl::Minutes(15);

  // Requests must be scoped to `region` and `service`, and signed with a key
  // of `account_id` if given (with auth off the endpoint serves the server's
  // account only; with auth on each key's principal decides). `clock` must
  // outlive the verifier.
  SigV4Verifier(const std::vector<AwsCredential>& credentials,
                std::string region, std::string service,
                std::optional<std::string> account_id, common::Clock& clock);

  // The access key id that signed `request`, or an error carrying the name
  // AWS gives it (aws_error.h): MissingAuthenticationTokenException (no
  // Authorization header), IncompleteSignatureException (one that cannot be
  // read), UnrecognizedClientException (an unknown key, or one of another
  // account), InvalidSignatureException (a wrong signature, scope or time).
  absl::StatusOr<std::string> Verify(const HttpRequestView& request) const;

 private:
  absl::flat_hash_map<std::string, AwsCredential> credentials_;
  const std::string region_;
  const std::string service_;
  const std::optional<std::string> account_id_;
  common::Clock& clock_;
};

}  // namespace servicemanager::aws

#endif  // SERVICEMANAGER_SERVER_AWS_SIGV4_H_
