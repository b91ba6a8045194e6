// Plain data of the resources around a service: connections to a source code
// provider, shared by services, and custom domains linked to one service
// with a certificate record each. No proto, SQL or I/O here.
#ifndef SERVICEMANAGER_SERVER_DOMAIN_CONNECTION_H_
#define SERVICEMANAGER_SERVER_DOMAIN_CONNECTION_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace servicemanager::domain {

enum class ProviderType { kGithub, kBitbucket };

// App Runner's statuses. A connection is AVAILABLE from its creation (there
// is no provider to hand-shake with here) and DELETED only in the answer to
// DeleteConnection: the row is gone once deleted.
enum class ConnectionStatus { kPendingHandshake, kAvailable, kError, kDeleted };

// App Runner's own spellings ("GITHUB", "AVAILABLE"); also the store's.
absl::string_view ToString(ProviderType type);
absl::string_view ToString(ConnectionStatus status);
std::optional<ProviderType> ParseProviderType(absl::string_view text);
std::optional<ConnectionStatus> ParseConnectionStatus(absl::string_view text);

// Names a connection: its account, name and id, the parts of its ARN
// arn:aws:apprunner:REGION:ACCOUNT:connection/NAME/ID.
struct ConnectionRef {
  std::string account_id;
  std::string name;
  std::string id;  // 32 lowercase hex characters.

  bool operator==(const ConnectionRef&) const = default;
};

struct Connection {
  ConnectionRef ref;
  ProviderType provider_type = ProviderType::kGithub;
  ConnectionStatus status = ConnectionStatus::kAvailable;
  absl::Time created_at;
};

// A domain linked to a service, and the certificate record of the link.
struct CustomDomain {
  std::string domain_name;  // Lower case.
  bool enable_www_subdomain = false;
  // The certificate record's id (32 lowercase hex characters). A domain
  // linked again while its record is kept gets the same one.
  std::string certificate_id;
};

// How long a certificate record outlives its link (an unlink, or the delete
// of its service) by default, as in App Runner.
inline constexpr absl::Duration kDefaultCertificateRetention =
    absl::Hours(24 * 7);

}  // namespace servicemanager::domain

#endif  // SERVICEMANAGER_SERVER_DOMAIN_CONNECTION_H_
