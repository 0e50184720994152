// net/certificate.cc — self-signed certificate generation and fingerprints (OpenSSL 3 EVP).
#include "net/certificate.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "os/descriptors.h"

namespace lwmi::net {
namespace {

template <auto Fn>
struct Deleter {
  template <class T>
  void operator()(T* p) const {
    Fn(p);
  }
};
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using PKeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;

/// OpenSSL's reason for the last failure (drains the error queue).
std::string openssl_reason() {
  std::string out;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

Error fail(const std::string& what) {
  return Error{WbemStatus::kFailed, what + ": " + openssl_reason()};
}

Error errno_fail(const std::string& what, int err) {
  return Error{WbemStatus::kFailed,
               what + ": " + std::strerror(err) + " (errno " + std::to_string(err) + ")"};
}

bool is_ip_literal(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

/// mkdir -p; the last component gets `mode`, parents 0755.
Result<void> make_dirs(const std::string& dir, mode_t mode) {
  struct stat st {};
  if (stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return Error{WbemStatus::kFailed, dir + ": not a directory"};
    return {};
  }
  auto slash = dir.find_last_of('/');
  if (slash != std::string::npos && slash > 0) {
    auto parent = make_dirs(dir.substr(0, slash), 0755);
    if (!parent) return parent;
  }
  if (mkdir(dir.c_str(), mode) != 0 && errno != EEXIST) return errno_fail("mkdir " + dir, errno);
  return {};
}

Result<void> add_ext(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1)
    return fail(std::string("extension ") + OBJ_nid2sn(nid) + "=" + value);
  return {};
}

/// Writes `write(FILE*)` to `path` via a temporary file created O_EXCL with `mode`, then renames.
template <class WriteFn>
Result<void> write_file(const std::string& path, mode_t mode, WriteFn write) {
  std::string tmp = path + ".tmp";
  unlink(tmp.c_str());  // a leftover of an interrupted generation
  os::Fd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode));
  if (!fd) return errno_fail("create " + tmp, errno);
  if (fchmod(fd.get(), mode) != 0) {  // the umask may have removed bits
    int err = errno;
    fd.reset();
    unlink(tmp.c_str());
    return errno_fail("chmod " + tmp, err);
  }
  FILE* f = fdopen(fd.get(), "w");
  if (!f) {
    int err = errno;
    fd.reset();
    unlink(tmp.c_str());
    return errno_fail("fdopen " + tmp, err);
  }
  fd.release();  // the FILE owns it now
  bool ok = write(f);
  if (!ok) {
    std::string reason = openssl_reason();
    fclose(f);
    unlink(tmp.c_str());
    return Error{WbemStatus::kFailed, "write " + path + ": " + reason};
  }
  if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
    int err = errno;
    fclose(f);
    unlink(tmp.c_str());
    return errno_fail("write " + tmp, err);
  }
  if (fclose(f) != 0) {
    int err = errno;
    unlink(tmp.c_str());
    return errno_fail("close " + tmp, err);
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    unlink(tmp.c_str());
    return errno_fail("rename " + tmp + " to " + path, err);
  }
  return {};
}

Result<X509Ptr> load_cert(const std::string& pem_or_path, bool is_text) {
  BioPtr bio(is_text ? BIO_new_mem_buf(pem_or_path.data(), static_cast<int>(pem_or_path.size()))
                     : BIO_new_file(pem_or_path.c_str(), "r"));
  std::string name = is_text ? std::string("PEM text") : pem_or_path;
  if (!bio) return fail("open " + name);
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return fail("read certificate " + name);
  return cert;
}

Result<void> generate(const std::string& cert_path, const std::string& key_path,
                      const std::string& host) {
  PKeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) return fail("generate EC P-256 key for " + key_path);

  X509Ptr cert(X509_new());
  if (!cert) return fail("X509_new");
  if (X509_set_version(cert.get(), 2) != 1) return fail("X509_set_version");

  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) return fail("RAND_bytes");
  serial[0] &= 0x7f;  // positive
  serial[0] |= 0x40;  // and with its full length
  BnPtr bn(BN_bin2bn(serial, sizeof serial, nullptr));
  if (!bn || !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get())))
    return fail("serial number");

  if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) ||
      !X509_time_adj_ex(X509_getm_notAfter(cert.get()), 3653, 0, nullptr))
    return fail("validity");

  X509_NAME* name = X509_get_subject_name(cert.get());
  std::string cn = host.empty() ? std::string("localhost") : host;
  if (cn.size() > 64) cn = cn.substr(0, 64);  // ub-common-name
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                 0) != 1)
    return fail("subject CN=" + cn);
  if (X509_set_issuer_name(cert.get(), name) != 1) return fail("issuer");
  if (X509_set_pubkey(cert.get(), key.get()) != 1) return fail("public key");

  // subjectAltName: the host, localhost, 127.0.0.1, ::1 (no duplicates).
  std::vector<std::string> sans;
  auto add_san = [&](const std::string& entry) {
    for (const auto& s : sans)
      if (s == entry) return;
    sans.push_back(entry);
  };
  if (!host.empty()) add_san((is_ip_literal(host) ? "IP:" : "DNS:") + host);
  add_san("DNS:localhost");
  add_san("IP:127.0.0.1");
  add_san("IP:::1");
  std::string san;
  for (const auto& s : sans) san += (san.empty() ? "" : ",") + s;

  // A pinned self-signed leaf: CA:FALSE and no keyUsage, so that OpenSSL (also in strict mode, as
  // Python 3.13 uses) accepts it as its own trust anchor.
  for (auto [nid, value] : {std::pair<int, std::string>{NID_basic_constraints, "critical,CA:FALSE"},
                            {NID_ext_key_usage, "serverAuth"},
                            {NID_subject_key_identifier, "hash"},
                            {NID_authority_key_identifier, "keyid:always"},
                            {NID_subject_alt_name, san}}) {
    auto r = add_ext(cert.get(), nid, value);
    if (!r) return r;
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) return fail("sign certificate");

  auto k = write_file(key_path, 0600, [&](FILE* f) {
    return PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1;
  });
  if (!k) return k;
  return write_file(cert_path, 0644, [&](FILE* f) { return PEM_write_X509(f, cert.get()) == 1; });
}

}  // namespace

Result<CertificateFiles> ensure_self_signed(const std::string& dir, const std::string& host) {
  auto d = make_dirs(dir, 0700);
  if (!d) return d.take_error();
  CertificateFiles files{dir + "/lwmid.crt", dir + "/lwmid.key"};
  struct stat st {};
  bool have_cert = stat(files.certificate.c_str(), &st) == 0;
  bool have_key = stat(files.private_key.c_str(), &st) == 0;
  if (have_cert && have_key) {
    auto cert = load_cert(files.certificate, false);
    if (!cert) return cert.take_error();  // never overwrite a certificate we cannot read
    return files;
  }
  if (have_cert != have_key) {
    // Half a pair (an interrupted generation or a deleted file): the certificate is the marker of
    // completion, so a key without it is regenerated; a certificate without its key is useless.
    unlink(have_cert ? files.certificate.c_str() : files.private_key.c_str());
  }
  auto g = generate(files.certificate, files.private_key, host);
  if (!g) return g.take_error();
  return files;
}

Result<std::string> sha256_fingerprint(const std::string& pem_or_path, bool is_text) {
  auto cert = load_cert(pem_or_path, is_text);
  if (!cert) return cert.take_error();
  std::string out = sha256_fingerprint(cert->get());
  if (out.empty()) return fail("X509_digest");
  return out;
}

std::string sha256_fingerprint(const X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!cert || X509_digest(cert, EVP_sha256(), md, &len) != 1) return {};
  static const char kHex[] = "0123456789ABCDEF";
  std::string out = "SHA256:";
  for (unsigned int i = 0; i < len; ++i) {
    if (i) out += ':';
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

}  // namespace lwmi::net
