// A throwaway certificate authority for HTTPS tests, made with the openssl command: a CA and a
// server certificate it signed for 127.0.0.1 and localhost, valid two days, in a temp_dir.
//
//     rotary::test::throwaway_ca ca;
//     options.tls_cert = ca.cert;  options.tls_key = ca.key;   // the server
//     client.ca_file = ca.ca;                                   // a client that trusts it
#pragma once

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "files.hpp"

namespace rotary::test {

struct throwaway_ca {
  temp_dir dir;
  std::filesystem::path ca, cert, key;

  explicit throwaway_ca(const std::string& name = "rotary test CA") {
    const auto d = dir.path.string();
    ca = dir.path / "ca.pem";
    cert = dir.path / "server.pem";
    key = dir.path / "server.key";
    write_file(dir.path / "ext.cnf", "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    sh("openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + d +
       "/ca.key -out " + ca.string() + " -days 2 -subj '/CN=" + name +
       "' -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign");
    sh("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + key.string() +
       " -out " + d + "/server.csr -subj /CN=localhost");
    sh("openssl x509 -req -in " + d + "/server.csr -CA " + ca.string() + " -CAkey " + d +
       "/ca.key -CAcreateserial -out " + cert.string() + " -days 2 -extfile " + d + "/ext.cnf");
  }

 private:
  static void sh(const std::string& command) {
    if (std::system((command + " >/dev/null 2>&1").c_str()) != 0)
      throw std::runtime_error("failed: " + command);
  }
};

}  // namespace rotary::test
