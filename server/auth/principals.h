// Who may call the API: the principals of the tokens file, each with one
// account and one role, and the credentials that identify them. Pure code
// apart from TokensFile, which reads the file.
#ifndef SERVICEMANAGER_SERVER_AUTH_PRINCIPALS_H_
#define SERVICEMANAGER_SERVER_AUTH_PRINCIPALS_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace servicemanager::auth {

enum class Role {
  kAdmin,     // Every method, on every account.
  kOperator,  // Every method, on its own account.
  kReadOnly,  // Reads only (list, describe, wait, watch), on its own account.
};

// "admin", "operator", "read-only".
absl::string_view ToString(Role role);
std::optional<Role> ParseRole(absl::string_view text);

struct Principal {
  std::string name;
  std::string account_id;  // 12 digits.
  Role role = Role::kReadOnly;
};

// SHA-256 of `token` in 64 lowercase hex digits, as the tokens file stores a
// bearer token (`printf %s TOKEN | sha256sum` prints the same).
std::string HashToken(absl::string_view token);

// A new random bearer token: 32 bytes of OpenSSL's CSPRNG, in hex.
std::string NewBearerToken();

// The App Runner endpoint's stand-ins for its access keys: a new bearer token
// for each key, which the endpoint presents to the gRPC API, and the tokens'
// hashes, by which the authorizer finds the key (and the key's aws: line its
// principal). They never leave the process, so nothing outside can present
// one.
struct AccessKeyTokens {
  absl::flat_hash_map<std::string, std::string> token_by_key;
  absl::flat_hash_map<std::string, std::string> key_by_token_hash;
};
AccessKeyTokens MakeAccessKeyTokens(
    const std::vector<std::string>& access_key_ids);

// The contents of a tokens file. One credential per line:
//
//   NAME ACCOUNT_ID ROLE CREDENTIAL
//
// separated by spaces or tabs; blank lines and lines starting with '#' are
// skipped. CREDENTIAL is one of
//   sha256:HEX         a bearer token, by the SHA-256 of it (HashToken);
//   cert:NAME          a verified client certificate whose subject CN or a
//                      subject alternative name is NAME (mTLS);
//   aws:ACCESS_KEY_ID  an access key of the App Runner endpoint's
//                      credentials file.
// A principal may have several lines, all with the same account and role; a
// credential belongs to one principal.
class Principals {
 public:
  // INVALID_ARGUMENT naming the line for anything else.
  static absl::StatusOr<Principals> Parse(absl::string_view text);

  // Null when nobody has the credential.
  const Principal* ByToken(absl::string_view token) const;
  const Principal* ByCertificateName(absl::string_view name) const;
  const Principal* ByAwsAccessKey(absl::string_view access_key_id) const;

 private:
  const Principal* Find(
      const absl::flat_hash_map<std::string, std::string>& index,
      absl::string_view key) const;

  absl::flat_hash_map<std::string, Principal> by_name_;
  // Credential -> principal name.
  absl::flat_hash_map<std::string, std::string> token_hashes_;
  absl::flat_hash_map<std::string, std::string> certificate_names_;
  absl::flat_hash_map<std::string, std::string> aws_access_keys_;
};

// A tokens file as a mounted Kubernetes Secret presents it: it may be replaced
// at any time, and is read again when it has changed.
//
// Thread-safe. The clock must outlive the file.
class TokensFile {
 public:
  // How often Current() looks at the file again.
  static constexpr absl::Duration kRecheck = absl::Seconds(1);

  // Reads and parses the file: an error (naming the path) if it cannot.
  static absl::StatusOr<std::unique_ptr<TokensFile>> Open(std::string path,
                                                          common::Clock& clock);

  // The principals as the file last read well said; first reads the file
  // again if kRecheck has passed since it last did. A file that no longer
  // reads or parses leaves the principals as they were, and is logged.
  std::shared_ptr<const Principals> Current();

 private:
  TokensFile(std::string path, common::Clock& clock, std::string text,
             Principals principals, absl::Time now);

  const std::string path_;
  common::Clock& clock_;
  absl::Mutex mu_;
  std::string text_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const Principals> principals_ ABSL_GUARDED_BY(mu_);
  absl::Time checked_at_ ABSL_GUARDED_BY(mu_);
};

}  // namespace servicemanager::auth

#endif  // SERVICEMANAGER_SERVER_AUTH_PRINCIPALS_H_
