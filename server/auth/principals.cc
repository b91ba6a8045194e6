#include "auth/principals.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/log.h"

namespace servicemanager::auth {
namespace {

bool IsAccountId(absl::string_view text) {
  if (text.size() != 12) {
    return false;
  }
  for (char c : text) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

bool IsSha256Hex(absl::string_view text) {
  if (text.size() != 64) {
    return false;
  }
  for (char c : text) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c)) &&
        (c < 'a' || c > 'f')) {
      return false;
    }
  }
  return true;
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat(path, ": cannot be read"));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return absl::UnavailableError(absl::StrCat(path, ": read error"));
  }
  return text.str();
}

}  // namespace

absl::string_view ToString(Role role) {
  switch (role) {
    case Role::kAdmin:
      return "admin";
    case Role::kOperator:
      return "operator";
    case Role::kReadOnly:
      return "read-only";
  }
  return "read-only";
}

std::optional<Role> ParseRole(absl::string_view text) {
  for (Role role : {Role::kAdmin, Role::kOperator, Role::kReadOnly}) {
    if (text == ToString(role)) {
      return role;
    }
  }
  return std::nullopt;
}

std::string HashToken(absl::string_view token) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(token.data(), token.size(), digest, &size, EVP_sha256(), nullptr);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), size));
}

std::string NewBearerToken() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    common::Log(common::LogLevel::kError, "auth: OpenSSL has no randomness");
    std::abort();
  }
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
}

AccessKeyTokens MakeAccessKeyTokens(
    const std::vector<std::string>& access_key_ids) {
  AccessKeyTokens tokens;
  for (const std::string& key : access_key_ids) {
    const std::string token = NewBearerToken();
    tokens.key_by_token_hash[HashToken(token)] = key;
    tokens.token_by_key[key] = token;
  }
  return tokens;
}

absl::StatusOr<Principals> Principals::Parse(absl::string_view text) {
  Principals principals;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') {
      continue;
    }
    auto error = [line_number](absl::string_view what) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line_number, ": ", what));
    };
    std::vector<std::string> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (fields.size() != 4) {
      return error("expected NAME ACCOUNT_ID ROLE CREDENTIAL");
    }
    if (!IsAccountId(fields[1])) {
      return error("ACCOUNT_ID must be 12 digits");
    }
    std::optional<Role> role = ParseRole(fields[2]);
    if (!role) {
      return error("ROLE must be admin, operator or read-only");
    }
    Principal principal{fields[0], fields[1], *role};
    auto [existing, inserted] =
        principals.by_name_.try_emplace(principal.name, principal);
    if (!inserted && (existing->second.account_id != principal.account_id ||
                      existing->second.role != principal.role)) {
      return error(absl::StrCat("principal ", principal.name,
                                " has another account or role on an "
                                "earlier line"));
    }
    absl::string_view credential = fields[3];
    absl::flat_hash_map<std::string, std::string>* index = nullptr;
    std::string key;
    if (absl::ConsumePrefix(&credential, "sha256:")) {
      if (!IsSha256Hex(credential)) {
        return error("sha256: must be followed by 64 lowercase hex digits");
      }
      index = &principals.token_hashes_;
    } else if (absl::ConsumePrefix(&credential, "cert:")) {
      index = &principals.certificate_names_;
    } else if (absl::ConsumePrefix(&credential, "aws:")) {
      index = &principals.aws_access_keys_;
    } else {
      return error(
          "CREDENTIAL must be sha256:HEX, cert:NAME or aws:ACCESS_KEY_ID");
    }
    if (credential.empty()) {
      return error("the credential is empty");
    }
    if (!index->try_emplace(std::string(credential), principal.name).second) {
      return error("the credential appears on an earlier line");
    }
  }
  return principals;
}

const Principal* Principals::Find(
    const absl::flat_hash_map<std::string, std::string>& index,
    absl::string_view key) const {
  auto name = index.find(key);
  if (name == index.end()) {
    return nullptr;
  }
  return &by_name_.at(name->second);
}

const Principal* Principals::ByToken(absl::string_view token) const {
  return Find(token_hashes_, HashToken(token));
}

const Principal* Principals::ByCertificateName(absl::string_view name) const {
  return Find(certificate_names_, name);
}

const Principal* Principals::ByAwsAccessKey(
    absl::string_view access_key_id) const {
  return Find(aws_access_keys_, access_key_id);
}

absl::StatusOr<std::unique_ptr<TokensFile>> TokensFile::Open(
    std::string path, common::Clock& clock) {
  absl::StatusOr<std::string> text = ReadWholeFile(path);
  if (!text.ok()) {
    return text.status();
  }
  absl::StatusOr<Principals> principals = Principals::Parse(*text);
  if (!principals.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", principals.status().message()));
  }
  const absl::Time now = clock.Now();
  return std::unique_ptr<TokensFile>(new TokensFile(
      std::move(path), clock, *std::move(text), *std::move(principals), now));
}

TokensFile::TokensFile(std::string path, common::Clock& clock, std::string text,
                       Principals principals, absl::Time now)
    : path_(std::move(path)),
      clock_(clock),
      text_(std::move(text)),
      principals_(std::make_shared<const Principals>(std::move(principals))),
      checked_at_(now) {}

std::shared_ptr<const Principals> TokensFile::Current() {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_.Now();
  if (now - checked_at_ < kRecheck) {
    return principals_;
  }
  checked_at_ = now;
  absl::StatusOr<std::string> text = ReadWholeFile(path_);
  if (!text.ok()) {
    common::Log(common::LogLevel::kError,
                "auth: the tokens file cannot be read; keeping its last "
                "contents",
                {{"error", std::string(text.status().message())}});
    return principals_;
  }
  if (*text == text_) {
    return principals_;
  }
  absl::StatusOr<Principals> principals = Principals::Parse(*text);
  if (!principals.ok()) {
    common::Log(common::LogLevel::kError,
                "auth: the tokens file changed but does not parse; keeping "
                "its last good contents",
                {{"path", path_},
                 {"error", std::string(principals.status().message())}});
    return principals_;
  }
  text_ = *std::move(text);
  principals_ = std::make_shared<const Principals>(*std::move(principals));
  common::Log(common::LogLevel::kInfo, "auth: tokens file reloaded",
              {{"path", path_}});
  return principals_;
}

}  // namespace servicemanager::auth
