#include "runtime/unix_http_client.h"

#include <curl/curl.h>

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace servicemanager::runtime {
namespace {

// curl_global_init is not thread-safe: done once, before the first handle.
void InitCurlOnce() {
  static const bool initialized = [] {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return true;
  }();
  (void)initialized;
}

struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using CurlHandle = std::unique_ptr<CURL, CurlDeleter>;

CurlHandle NewHandle(absl::Duration timeout) {
  InitCurlOnce();
  CurlHandle curl(curl_easy_init());
  if (curl) {
    curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS,
                     static_cast<long>(absl::ToInt64Milliseconds(timeout)));
    curl_easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(absl::ToInt64Milliseconds(timeout)));
  }
  return curl;
}

size_t Append(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

}  // namespace

UnixHttpClient::UnixHttpClient(std::string socket_path)
    : socket_path_(std::move(socket_path)) {}

absl::StatusOr<HttpResponse> UnixHttpClient::Call(
    absl::string_view method, absl::string_view path,
    absl::string_view json_body, absl::Duration timeout) const {
  CurlHandle curl = NewHandle(timeout);
  if (!curl) {
    return absl::InternalError("curl_easy_init failed");
  }
  HttpResponse response;
  const std::string url = absl::StrCat("http://d", path);
  const std::string verb(method);
  const std::string body(json_body);
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  curl_easy_setopt(curl.get(), CURLOPT_UNIX_SOCKET_PATH, socket_path_.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_CUSTOMREQUEST, verb.c_str());
  if (verb == "POST" || !body.empty()) {
    headers.reset(curl_slist_append(nullptr, "Content-Type: application/json"));
    curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDSIZE,
                     static_cast<long>(body.size()));
  }
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &response.body);
  const CURLcode code = curl_easy_perform(curl.get());
  if (code != CURLE_OK) {
    return absl::UnavailableError(absl::StrCat(
        verb, " ", path, " on ", socket_path_, ": ", curl_easy_strerror(code)));
  }
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

std::string UnixHttpClient::Escape(absl::string_view text) {
  InitCurlOnce();
  char* escaped =
      curl_easy_escape(nullptr, text.data(), static_cast<int>(text.size()));
  std::string result = escaped != nullptr ? escaped : "";
  curl_free(escaped);
  return result;
}

absl::StatusOr<HttpResponse> HttpGet(absl::string_view host_port,
                                     absl::string_view path,
                                     absl::Duration timeout) {
  CurlHandle curl = NewHandle(timeout);
  if (!curl) {
    return absl::InternalError("curl_easy_init failed");
  }
  const std::string url = absl::StrCat("http://", host_port, path);
  HttpResponse response;
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &response.body);
  const CURLcode code = curl_easy_perform(curl.get());
  if (code != CURLE_OK) {
    return absl::UnavailableError(
        absl::StrCat("GET ", url, ": ", curl_easy_strerror(code)));
  }
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

bool TcpConnects(absl::string_view host_port, absl::Duration timeout) {
  CurlHandle curl = NewHandle(timeout);
  if (!curl) {
    return false;
  }
  const std::string url = absl::StrCat("http://", host_port, "/");
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_CONNECT_ONLY, 1L);
  return curl_easy_perform(curl.get()) == CURLE_OK;
}

}  // namespace servicemanager::runtime
