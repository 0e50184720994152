// cli/console.h — how lwmic speaks on stderr: errors with their WBEM code (and a caret under the
// place in the input they point at), notes, the exit status an error stands for, and the
// password prompt. Every untrusted text (a process name, a server's message) goes through
// display_text() first.
// Thread safety: the functions write whole lines; callers serialize them across threads.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "lwmi/result.h"

namespace lwmi::cli {

/// An error as lwmic shows it: `NAME (0x…): message`, the message as display_text() shows it.
std::string error_text(const Error& e);

/// `lwmic: error: …`, and `input` with a caret under the error's position when it has one.
void print_error(const Error& e, std::string_view input = {});

/// `lwmic: note: …` (the text shown as untrusted text).
void print_note(std::string_view text);

/// The exit status for an error: connection, authentication and certificate failures are
/// kExitConnection, every other error kExitWbemError.
int status_for(const Error& e);

/// Reads a password from the terminal with echo off; nullopt when there is no terminal.
std::optional<std::string> prompt_password(const std::string& user, const std::string& node);

}  // namespace lwmi::cli
