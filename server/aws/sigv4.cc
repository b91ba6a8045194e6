#include "aws/sigv4.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "aws/aws_error.h"

namespace servicemanager::aws {
namespace {

constexpr char kAlgorithm[] = "AWS4-HMAC-SHA256";
constexpr char kAmzDateFormat[] = "%Y%m%dT%H%M%SZ";

absl::Status Incomplete(absl::string_view message) {
  return AwsError(absl::StatusCode::kInvalidArgument,
                  kIncompleteSignatureException, message);
}

absl::Status InvalidSignature(absl::string_view message) {
  return AwsError(absl::StatusCode::kPermissionDenied,
                  kInvalidSignatureException, message);
}

absl::Status Unrecognized(absl::string_view message) {
  return AwsError(absl::StatusCode::kUnauthenticated,
                  kUnrecognizedClientException, message);
}

std::string HmacSha256(absl::string_view key, absl::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest,
       &length);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

bool IsUnreserved(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

// RFC 3986 encoding as SigV4 wants it: everything but the unreserved
// characters (and '/' when `keep_slash`) as %XX, uppercase hex.
std::string UriEncode(absl::string_view text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    if (IsUnreserved(c) || (keep_slash && c == '/')) {
      out += c;
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0xF];
    }
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(absl::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && HexValue(text[i + 1]) >= 0 &&
        HexValue(text[i + 2]) >= 0) {
      out +=
          static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

// The path with dot segments and empty segments removed (RFC 3986 5.2.4; AWS
// also drops repeated slashes), then encoded once more: for every service but
// S3 the canonical URI encodes the already encoded path.
std::string CanonicalUri(absl::string_view path) {
  if (path.empty()) {
    return "/";
  }
  std::vector<absl::string_view> segments;
  for (absl::string_view segment : absl::StrSplit(path, '/')) {
    if (segment.empty() || segment == ".") {
      continue;
    }
    if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
      continue;
    }
    segments.push_back(segment);
  }
  std::string normalized = absl::StrCat(path.front() == '/' ? "/" : "",
                                        absl::StrJoin(segments, "/"));
  if (path.back() == '/' && !segments.empty()) {
    normalized += '/';
  }
  return UriEncode(normalized, /*keep_slash=*/true);
}

// Parameters decoded and encoded again strictly, sorted by name then value.
std::string CanonicalQuery(absl::string_view query) {
  std::vector<std::pair<std::string, std::string>> parameters;
  for (absl::string_view pair : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> parts =
        absl::StrSplit(pair, absl::MaxSplits('=', 1));
    parameters.emplace_back(UriEncode(PercentDecode(parts.first), false),
                            UriEncode(PercentDecode(parts.second), false));
  }
  std::sort(parameters.begin(), parameters.end());
  std::vector<std::string> encoded;
  for (const auto& [name, value] : parameters) {
    encoded.push_back(absl::StrCat(name, "=", value));
  }
  return absl::StrJoin(encoded, "&");
}

// Surrounding spaces removed and inner runs of spaces collapsed to one.
std::string CanonicalHeaderValue(absl::string_view value) {
  return absl::StrJoin(
      absl::StrSplit(value, absl::ByAnyChar(" \t"), absl::SkipEmpty()), " ");
}

// All values of header `name` (lowercase), in the order received.
std::vector<std::string> HeaderValues(const HttpRequestView& request,
                                      absl::string_view name) {
  std::vector<std::string> values;
  for (const auto& [header, value] : request.headers) {
    if (absl::EqualsIgnoreCase(header, name)) {
      values.push_back(value);
    }
  }
  return values;
}

// X-Amz-Date: "20150830T123600Z". By hand: absl's %Y takes every digit.
bool ParseAmzDate(absl::string_view text, absl::Time& time) {
  if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z') {
    return false;
  }
  int fields[6];
  const size_t offsets[6] = {0, 4, 6, 9, 11, 13};
  const size_t lengths[6] = {4, 2, 2, 2, 2, 2};
  for (int i = 0; i < 6; ++i) {
    const absl::string_view digits = text.substr(offsets[i], lengths[i]);
    if (!std::all_of(digits.begin(), digits.end(),
                     [](char c) {
                       return absl::ascii_isdigit(
                           static_cast<unsigned char>(c));
                     }) ||
        !absl::SimpleAtoi(digits, &fields[i])) {
      return false;
    }
  }
  const absl::CivilSecond civil(fields[0], fields[1], fields[2], fields[3],
                                fields[4], fields[5]);
  // CivilSecond normalizes (month 13 is January); a real date does not move.
  if (civil.month() != fields[1] || civil.day() != fields[2] ||
      civil.hour() != fields[3] || civil.minute() != fields[4] ||
      civil.second() != fields[5]) {
    return false;
  }
  time = absl::FromCivil(civil, absl::UTCTimeZone());
  return true;
}

}  // namespace

absl::StatusOr<std::vector<AwsCredential>> ParseCredentials(
    absl::string_view text) {
  std::vector<AwsCredential> credentials;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') {
      continue;
    }
    std::vector<std::string> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    const bool account_ok =
        fields.size() == 3 && fields[2].size() == 12 &&
        std::all_of(fields[2].begin(), fields[2].end(), [](char c) {
          return absl::ascii_isdigit(static_cast<unsigned char>(c));
        });
    if (!account_ok) {
      return absl::InvalidArgumentError(absl::StrCat(
          "line ", line_number,
          ": expected ACCESS_KEY_ID SECRET_ACCESS_KEY ACCOUNT_ID (12 digits)"));
    }
    for (const AwsCredential& other : credentials) {
      if (other.access_key_id == fields[0]) {
        return absl::InvalidArgumentError(
            absl::StrCat("line ", line_number, ": access key id ", fields[0],
                         " appears twice"));
      }
    }
    credentials.push_back({fields[0], fields[1], fields[2]});
  }
  if (credentials.empty()) {
    return absl::InvalidArgumentError("no credentials");
  }
  return credentials;
}

absl::StatusOr<std::vector<AwsCredential>> ReadCredentialsFile(
    const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read ", path));
  }
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<std::vector<AwsCredential>> credentials =
      ParseCredentials(text.str());
  if (!credentials.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", credentials.status().message()));
  }
  return credentials;
}

std::string Sha256Hex(absl::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), length));
}

std::string CanonicalRequest(const HttpRequestView& request,
                             const std::vector<std::string>& signed_headers) {
  const size_t question = request.target.find('?');
  const absl::string_view path = request.target.substr(0, question);
  const absl::string_view query = question == absl::string_view::npos
                                      ? absl::string_view()
                                      : request.target.substr(question + 1);
  std::string headers;
  for (const std::string& name : signed_headers) {
    std::vector<std::string> values;
    for (const std::string& value : HeaderValues(request, name)) {
      values.push_back(CanonicalHeaderValue(value));
    }
    absl::StrAppend(&headers, name, ":", absl::StrJoin(values, ","), "\n");
  }
  return absl::StrCat(absl::AsciiStrToUpper(request.method), "\n",
                      CanonicalUri(path), "\n", CanonicalQuery(query), "\n",
                      headers, "\n", absl::StrJoin(signed_headers, ";"), "\n",
                      Sha256Hex(request.body));
}

std::string StringToSign(absl::string_view amz_date, absl::string_view scope,
                         absl::string_view canonical_request) {
  return absl::StrCat(kAlgorithm, "\n", amz_date, "\n", scope, "\n",
                      Sha256Hex(canonical_request));
}

std::string SigningKey(absl::string_view secret, absl::string_view date,
                       absl::string_view region, absl::string_view service) {
  std::string key = HmacSha256(absl::StrCat("AWS4", secret), date);
  key = HmacSha256(key, region);
  key = HmacSha256(key, service);
  return HmacSha256(key, "aws4_request");
}

std::string Signature(absl::string_view signing_key,
                      absl::string_view string_to_sign) {
  return absl::BytesToHexString(HmacSha256(signing_key, string_to_sign));
}

SigV4Verifier::SigV4Verifier(const std::vector<AwsCredential>& credentials,
                             std::string region, std::string service,
                             std::optional<std::string> account_id,
                             common::Clock& clock)
    : region_(std::move(region)),
      service_(std::move(service)),
      account_id_(std::move(account_id)),
      clock_(clock) {
  for (const AwsCredential& credential : credentials) {
    credentials_[credential.access_key_id] = credential;
  }
}

absl::StatusOr<std::string> SigV4Verifier::Verify(
    const HttpRequestView& request) const {
  const std::vector<std::string> authorizations =
      HeaderValues(request, "authorization");
  if (authorizations.empty()) {
    return AwsError(absl::StatusCode::kUnauthenticated,
                    kMissingAuthenticationTokenException,
                    "Missing Authentication Token");
  }
  if (authorizations.size() > 1) {
    return Incomplete("more than one Authorization header");
  }
  // AWS4-HMAC-SHA256 Credential=KEY/DATE/REGION/SERVICE/aws4_request,
  //   SignedHeaders=host;x-amz-date, Signature=HEX
  const absl::string_view authorization =
      absl::StripAsciiWhitespace(authorizations.front());
  const size_t space = authorization.find(' ');
  if (space == absl::string_view::npos ||
      authorization.substr(0, space) != kAlgorithm) {
    return Incomplete(
        absl::StrCat("the Authorization header must use ", kAlgorithm));
  }
  std::map<std::string, std::string> parameters;
  for (absl::string_view part :
       absl::StrSplit(authorization.substr(space + 1), ',')) {
    std::pair<absl::string_view, absl::string_view> pair = absl::StrSplit(
        absl::StripAsciiWhitespace(part), absl::MaxSplits('=', 1));
    parameters[std::string(pair.first)] = std::string(pair.second);
  }
  for (const char* name : {"Credential", "SignedHeaders", "Signature"}) {
    if (parameters[name].empty()) {
      return Incomplete(absl::StrCat(
          "Authorization header requires '", name,
          "' parameter. Authorization=", authorization.substr(0, space)));
    }
  }
  const std::vector<std::string> scope =
      absl::StrSplit(parameters["Credential"], '/');
  if (scope.size() != 5 || scope[4] != "aws4_request") {
    return Incomplete(
        "Credential must be ACCESS_KEY_ID/DATE/REGION/SERVICE/aws4_request");
  }
  const auto credential = credentials_.find(scope[0]);
  if (credential == credentials_.end()) {
    return Unrecognized(
        "The security token included in the request is invalid.");
  }
  if (account_id_ && credential->second.account_id != *account_id_) {
    return Unrecognized(
        absl::StrCat("The access key ", scope[0], " belongs to account ",
                     credential->second.account_id,
                     "; this server serves account ", *account_id_, "."));
  }

  const std::vector<std::string> dates = HeaderValues(request, "x-amz-date");
  absl::Time signed_at;
  if (dates.size() != 1 || !ParseAmzDate(dates.front(), signed_at)) {
    return Incomplete(
        "the request needs one X-Amz-Date header, such as 20150830T123600Z");
  }
  std::vector<std::string> signed_headers =
      absl::StrSplit(absl::AsciiStrToLower(parameters["SignedHeaders"]), ';');
  std::sort(signed_headers.begin(), signed_headers.end());
  signed_headers.erase(
      std::unique(signed_headers.begin(), signed_headers.end()),
      signed_headers.end());
  for (const char* name : {"host", "x-amz-date"}) {
    if (!std::binary_search(signed_headers.begin(), signed_headers.end(),
                            name)) {
      return InvalidSignature(absl::StrCat(
          "'", name, "' must be a 'SignedHeader' in the AWS Authorization."));
    }
  }
  if (scope[1] != dates.front().substr(0, 8)) {
    return InvalidSignature(absl::StrCat(
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 "
        "version of date from HTTP: '",
        scope[1], "' != '", dates.front().substr(0, 8), "', from '",
        dates.front(), "'."));
  }
  if (scope[2] != region_) {
    return InvalidSignature(
        absl::StrCat("Credential should be scoped to a valid region, not '",
                     scope[2], "'; this server's region is '", region_, "'."));
  }
  if (scope[3] != service_) {
    return InvalidSignature(absl::StrCat(
        "Credential should be scoped to correct service: '", service_, "'."));
  }
  const absl::Time now = clock_.Now();
  const auto format = [](absl::Time time) {
    return absl::FormatTime(kAmzDateFormat, time, absl::UTCTimeZone());
  };
  if (signed_at < now - kMaxSkew) {
    return InvalidSignature(absl::StrCat(
        "Signature expired: ", dates.front(), " is now earlier than ",
        format(now - kMaxSkew), " (", format(now), " - 15 min.)"));
  }
  if (signed_at > now + kMaxSkew) {
    return InvalidSignature(absl::StrCat(
        "Signature not yet current: ", dates.front(), " is still later than ",
        format(now + kMaxSkew), " (", format(now), " + 15 min.)"));
  }

  const std::string expected =
      Signature(SigningKey(credential->second.secret_access_key, scope[1],
                           scope[2], scope[3]),
                StringToSign(dates.front(),
                             absl::StrJoin(scope.begin() + 1, scope.end(), "/"),
                             CanonicalRequest(request, signed_headers)));
  const std::string& given = parameters["Signature"];
  if (given.size() != expected.size() ||
      CRYPTO_memcmp(given.data(), expected.data(), expected.size()) != 0) {
    return InvalidSignature(
        "The request signature we calculated does not match the signature "
        "you provided. Check your AWS Secret Access Key and signing method. "
        "Consult the service documentation for details.");
  }
  return scope[0];
}

}  // namespace servicemanager::aws
