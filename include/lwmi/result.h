// lwmi/result.h — WBEM status codes, Error and Result<T>: errors are values.
//
// Every fallible call in lwmi returns Result<T>: either a value or an Error carrying a WBEM status
// code (the HRESULT a WMI client would see) and a human-readable message that says what is wrong
// and where. A method's ReturnValue (0, 2, 3, 8, 9, 21) is data, not an Error.
// Thread safety: plain values; safe to copy between threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace lwmi {

/// WBEM status codes (HRESULT values) from the WMI error constants.
enum class WbemStatus : uint32_t {
  kOk = 0,
  kFailed = 0x80041001,
  kNotFound = 0x80041002,
  kAccessDenied = 0x80041003,
  kProviderFailure = 0x80041004,
  kTypeMismatch = 0x80041005,
  kOutOfMemory = 0x80041006,
  kInvalidParameter = 0x80041008,
  kNotSupported = 0x8004100C,
  kInvalidNamespace = 0x8004100E,
  kInvalidClass = 0x80041010,
  kInvalidQuery = 0x80041017,
  kInvalidQueryType = 0x80041018,
  kAlreadyExists = 0x80041019,
  kInvalidSyntax = 0x80041021,
  kReadOnly = 0x80041023,
  kProviderNotCapable = 0x80041024,
  kInvalidMethod = 0x8004102E,
  kInvalidMethodParameters = 0x8004102F,
  kInvalidProperty = 0x80041031,
  kCallCancelled = 0x80041032,
  kInvalidObjectPath = 0x8004103A,
  kUnparsableQuery = 0x80041058,
  kNotEventClass = 0x80041059,
  kMissingGroupWithin = 0x8004105A,
  kMissingAggregationList = 0x8004105B,
  kPropertyNotAnObject = 0x8004105C,
  kAggregatingByObject = 0x8004105D,
  kQueueOverflow = 0x80041061,
  kPrivilegeNotHeld = 0x80041062,
  kInvalidOperator = 0x80041063,
  kLocalCredentials = 0x80041064,
  kTimedOut = 0x80041069,
  kQuotaViolation = 0x8004106C,
  kPropertyNameTooWide = 0x80041073,
  kClassNameTooWide = 0x80041074,
  kRegistrationTooBroad = 0x80042001,
  kRegistrationTooPrecise = 0x80042002,
};

/// The constant's name as WMI spells it, e.g. "WBEM_E_NOT_FOUND"; "WBEM_E_FAILED" if unknown.
std::string_view wbem_status_name(WbemStatus status);
/// "0x80041002".
std::string wbem_status_hex(WbemStatus status);

/// What kind of failure an Error is. Set where the error is made and read only through it (or
/// Error's predicates): a message is for people and may be reworded freely, so nothing decides
/// by its text.
enum class ErrorKind : uint8_t {
  kWbem,            ///< a WBEM error: lwmi or the host answered, refusing or failing the request
  kTransport,       ///< the host could not be reached, or the connection broke
  kAuthentication,  ///< the host refused the credentials
  kCertificate,     ///< the host's certificate is not the one trusted (pinned, or under --ca)
  kTimeout,         ///< the host did not answer within the client's time limit
};

/// A failure: a WBEM status code and a message naming what is wrong and where.
struct Error {
  WbemStatus code = WbemStatus::kFailed;
  std::string message;
  /// Byte offset into the text being parsed (query, path, envelope) where the problem is, if any.
  std::optional<size_t> position;
  ErrorKind kind = ErrorKind::kWbem;
  /// WBEM_E_QUEUE_OVERFLOW: how many events were dropped (0 = not said).
  uint64_t dropped_events = 0;

  /// An Error of `kind`, e.g. Error::of(ErrorKind::kTransport, WbemStatus::kFailed, "...").
  static Error of(ErrorKind kind, WbemStatus code, std::string message) {
    Error e{code, std::move(message)};
    e.kind = kind;
    return e;
  }

  bool is_wbem() const { return kind == ErrorKind::kWbem; }
  bool is_transport() const { return kind == ErrorKind::kTransport; }
  bool is_authentication() const { return kind == ErrorKind::kAuthentication; }
  bool is_certificate() const { return kind == ErrorKind::kCertificate; }
  bool is_timeout() const { return kind == ErrorKind::kTimeout; }

  /// "WBEM_E_NOT_FOUND (0x80041002): message"
  std::string to_string() const;
};

/// Either a T or an Error. Check ok() before value().
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT
  Result(WbemStatus code, std::string message) : v_(Error{code, std::move(message)}) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  const Error& error() const { return std::get<1>(v_); }
  Error&& take_error() { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

/// Result<void>: success or an Error.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : e_(std::move(error)) {}  // NOLINT
  Result(WbemStatus code, std::string message) : e_(Error{code, std::move(message)}) {}
  bool ok() const { return !e_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return *e_; }
  Error&& take_error() { return std::move(*e_); }

 private:
  std::optional<Error> e_;
};

}  // namespace lwmi
