// permanent/definitions_io.h — definitions on disk: the store file lwmid keeps in its state
// directory (JSON, replaced atomically) and the TOML files of subscriptions.d.
//
// Both go through the model's property tables (properties_of / filter_from / consumer_from /
// binding_from), so a property means the same in a file, in the store and over WS-Man. Both load
// all or nothing: the first problem fails the whole load and nothing is returned, so a caller
// keeps what it had (lwmid's start-up reports a corrupt store; SIGHUP keeps the old files' set).
// Thread safety: free functions on their arguments; writers of one store are the caller's to
// serialize.
#pragma once

#include <string>
#include <string_view>

#include "lwmi/result.h"
#include "permanent/model.h"

namespace lwmi::permanent {

inline constexpr std::string_view kStoreFormat = "lwmi-subscriptions";
inline constexpr int kStoreVersion = 1;

/// The store file's text: JSON {"format": "lwmi-subscriptions", "version": 1, "filters": [...],
/// "consumers": [{"class": "...", ...}], "bindings": [...]}, each object's properties by WMI name
/// (through properties_of, so every property round-trips, CreatorName included), CIM values as
/// JSON strings, numbers, booleans and arrays of strings. Objects defined in subscriptions.d
/// files (origin.from_file()) are not the store's and are left out. Fails
/// (WBEM_E_INVALID_PARAMETER, naming the object) when a string is not valid UTF-8, which JSON
/// cannot hold.
Result<std::string> encode_store(const Definitions& d);

/// Parses a store file. Any problem — JSON syntax ("SOURCE:LINE:COL: …"), another format or
/// version, an unknown key, a property the class lacks, a wrong type, a missing required one, a
/// duplicate key — fails the whole load with an Error "SOURCE: consumers[2]: …" keeping the
/// model's code (WBEM_E_INVALID_PARAMETER for the file's own shape). Origins are the store's.
Result<Definitions> decode_store(std::string_view text, std::string_view source);

/// Reads and decodes the store at `path`: a missing file is an empty store; anything else
/// unreadable is an error (WBEM_E_FAILED naming the path and the errno text).
Result<Definitions> load_store(const std::string& path);

/// Replaces `path` with `text` atomically and durably, mode 0600 (os::write_file_atomically: a new
/// O_EXCL temporary beside it, fsync, rename, fsync of the directory; the temporary removed on
/// any error). Errors (WBEM_E_FAILED) name the path and the errno text.
Result<void> write_file_atomically(const std::string& path, std::string_view text);

/// encode_store then write_file_atomically.
Result<void> save_store(const std::string& path, const Definitions& d);

/// Every `*.toml` in `dir`, in byte order of their names (other names and dot-files ignored; a
/// missing directory defines nothing), parsed with toml++. One object per array-of-tables entry,
/// class and property names as WMI's, case-insensitively:
///   [[__EventFilter]]              Name, Query, (QueryLanguage, EventNamespace)
///   [[LogFileEventConsumer]]       Name, Filename, Text, MaximumFileSize, (IsUnicode)
///   [[CommandLineEventConsumer]]   Name, ExecutablePath, CommandLineTemplate, WorkingDirectory,
///                                  KillTimeout
///   [[LWMI_JournalEventConsumer]]  Name, SourceName, EventID, EventType, InsertionStringTemplates
///   [[LWMI_TerminateProcessEventConsumer]] Name, Reason
///   [[__FilterToConsumerBinding]]  Filter = "name" or '__EventFilter.Name="name"',
///                                  Consumer = 'LogFileEventConsumer.Name="x"'
/// TOML strings are CIM strings, integers sint64 (the model converts them to the property's type
/// and refuses negatives), booleans booleans, arrays of strings string arrays; anything else is a
/// type mismatch. CreatorName is not set in files (it records who made an object over the API).
/// Each object's Origin is its file and the line and column of its table header.
///
/// Any problem — TOML syntax, an unknown class or key, a key repeated in another case, a wrong
/// type, a missing required property, an object defined twice across the files (same class and
/// Name, or the same binding) — fails the whole load with an Error "FILE:LINE:COL: …" at the
/// offending key or value (at the table header when a property is missing), keeping the model's
/// WbemStatus (WBEM_E_ALREADY_EXISTS for a duplicate). References between objects are not
/// checked here (that is the store's rule, across files and store).
///
/// Because these files make a root daemon run commands and kill processes, the directory and
/// each file must be owned by lwmid's effective user and writable by no group or other user;
/// else the load fails with WBEM_E_ACCESS_DENIED "PATH: writable by others …".
Result<Definitions> load_subscription_files(const std::string& dir);

/// One subscriptions.d file's text, as load_subscription_files reads each (its errors start
/// "PATH:LINE:COL: "); no permission check (the text is given).
Result<Definitions> parse_subscription_file(std::string_view text, const std::string& path);

}  // namespace lwmi::permanent
