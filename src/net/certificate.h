// net/certificate.h — the HTTPS certificate: a self-signed one generated in the state
// directory on first start when none is configured, and fingerprints for logging and pinning.
// Thread safety: pure functions over files.
#pragma once

#include <openssl/types.h>

#include <string>

#include "lwmi/result.h"

namespace lwmi::net {

struct CertificateFiles {
  std::string certificate;  ///< PEM path
  std::string private_key;  ///< PEM path
};

/// Returns `dir`/lwmid.crt and lwmid.key, generating them (RSA 3072 or EC P-256, 10 years,
/// CN and subjectAltName = `host`, plus localhost, 127.0.0.1 and ::1) when absent. The key is
/// written 0600. Errors name the file and OpenSSL's reason.
Result<CertificateFiles> ensure_self_signed(const std::string& dir, const std::string& host);

/// "SHA256:AB:CD:…" of a PEM certificate file (or of PEM text when `is_text`).
Result<std::string> sha256_fingerprint(const std::string& pem_or_path, bool is_text = false);
/// The same of a certificate in memory (a TLS peer's, for pinning); "" if it cannot be digested.
std::string sha256_fingerprint(const X509* cert);

}  // namespace lwmi::net
