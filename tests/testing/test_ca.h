// A certificate authority made at test time with the openssl command (EC
// P-256 keys, valid two days): its certificate, a server certificate for
// 127.0.0.1 and localhost, and client certificates, all as PEM files.
#ifndef SERVICEMANAGER_TESTS_TESTING_TEST_CA_H_
#define SERVICEMANAGER_TESTS_TESTING_TEST_CA_H_

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace servicemanager::testing {

struct KeyPair {
  std::string certificate;  // Paths.
  std::string key;
};

class TestCa {
 public:
  // Makes the CA, named `name`, in `dir` (which must exist). ok() says
  // whether openssl succeeded.
  TestCa(std::filesystem::path dir, const std::string& name)
      : dir_(std::move(dir)), name_(name) {
    certificate_ = (dir_ / (name + "-ca.pem")).string();
    key_ = (dir_ / (name + "-ca.key")).string();
    ok_ = Run(absl::StrCat("openssl req -x509 ", kNewKey, " -keyout ", key_,
                           " -out ", certificate_, " -days 2 -subj '/CN=", name,
                           " test CA'"));
  }

  bool ok() const { return ok_; }
  const std::string& certificate() const { return certificate_; }

  // A certificate signed by this CA with subject CN `common_name` and the
  // subject alternative names `san` (e.g. "DNS:localhost,IP:127.0.0.1").
  KeyPair Issue(const std::string& file_name, const std::string& common_name,
                const std::string& san) {
    const std::string base = (dir_ / (name_ + "-" + file_name)).string();
    KeyPair pair{base + ".pem", base + ".key"};
    std::ofstream(base + ".ext") << "subjectAltName=" << san << "\n";
    ok_ = ok_ &&
          Run(absl::StrCat("openssl req ", kNewKey, " -keyout ", pair.key,
                           " -out ", base, ".csr -subj '/CN=", common_name,
                           "'")) &&
          Run(absl::StrCat("openssl x509 -req -in ", base, ".csr -CA ",
                           certificate_, " -CAkey ", key_,
                           " -CAcreateserial -days 2 -out ", pair.certificate,
                           " -extfile ", base, ".ext"));
    return pair;
  }

  // The server's: for 127.0.0.1 and localhost.
  KeyPair IssueServer() {
    return Issue("server", "localhost", "DNS:localhost,IP:127.0.0.1");
  }

 private:
  static constexpr char kNewKey[] =
      "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";

  static bool Run(const std::string& command) {
    return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
  }

  std::filesystem::path dir_;
  std::string name_;
  std::string certificate_;
  std::string key_;
  bool ok_ = false;
};

// The contents of a file, for grpc::SslCredentialsOptions.
inline std::string ReadPem(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace servicemanager::testing

#endif  // SERVICEMANAGER_TESTS_TESTING_TEST_CA_H_
