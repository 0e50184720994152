// permanent/log_file_consumer.cc — LogFileEventConsumer: one escaped line per event, appended to
// a file under [subscriptions] log_directory reached without following any link, rotated once.
//
// lwmid is root: a path that a link could redirect would let whoever plants the link append
// lines to any file (/etc/passwd, a root cron file). So the directory is root's and not writable
// by others, every directory below it is opened with O_NOFOLLOW from its parent's descriptor,
// and the file itself is opened O_NOFOLLOW and must be a regular file with one link — at every
// delivery, not only when the consumer is defined.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>

#include "os/descriptors.h"
#include "permanent/consumer_kinds.h"
#include "permanent/template.h"

namespace lwmi::permanent {
namespace {

Error invalid(std::string message) {
  return Error{WbemStatus::kInvalidParameter, std::move(message)};
}

using os::Fd;

std::vector<std::string> components(std::string_view path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= path.size()) {
    size_t slash = path.find('/', i);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view c = path.substr(i, slash - i);
    if (!c.empty() && c != ".") out.emplace_back(c);
    i = slash + 1;
  }
  return out;
}

/// Filename's components below log_directory (lexically: no link is resolved here).
Result<std::vector<std::string>> below_directory(const std::string& filename,
                                                 const std::string& directory) {
  const std::string where = "LogFileEventConsumer.Filename '" + filename + "'";
  if (filename.empty() || filename[0] != '/') return invalid(where + " must be an absolute path");
  if (filename.find('\0') != std::string::npos) return invalid(where + " holds a NUL character");
  std::vector<std::string> file = components(filename);
  for (const std::string& c : file)
    if (c == "..") return invalid(where + " must not have a '..' component");
  std::vector<std::string> dir = components(directory);
  bool inside = file.size() > dir.size();
  for (size_t i = 0; inside && i < dir.size(); ++i) inside = file[i] == dir[i];
  if (!inside) return invalid(where + " is not under [subscriptions] log_directory " + directory);
  return std::vector<std::string>(file.begin() + static_cast<long>(dir.size()), file.end());
}

/// log_directory, opened: it must be a directory owned by root that no one else may write.
Result<Fd> open_log_directory(const std::string& directory) {
  const std::string where = "[subscriptions] log_directory " + directory;
  if (directory.empty() || directory[0] != '/') return invalid(where + " is not an absolute path");
  Fd fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return invalid(where + ": " + std::strerror(errno));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return invalid(where + ": " + std::strerror(errno));
  if (st.st_uid != 0) return invalid(where + " is not owned by root");
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return invalid(where + " is writable by others (mode " + mode + ")");
  }
  return fd;
}

/// What is at `name` in `dir`, described for an error ("a symbolic link", "not a directory").
std::string what_is(int dir, const std::string& name) {
  struct stat st;
  if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return std::strerror(errno);
  if (S_ISLNK(st.st_mode)) return "a symbolic link (never followed)";
  if (!S_ISDIR(st.st_mode)) return "not a directory";
  return "not openable";
}

/// The directory holding the file, each directory below log_directory opened without following
/// a link. `missing` (for the check): set instead of failing when a directory does not exist.
Result<Fd> open_parent(Fd dir, const std::vector<std::string>& rel, const std::string& filename,
                       bool* missing) {
  std::string path;
  for (size_t i = 0; i + 1 < rel.size(); ++i) {
    path += (i ? "/" : "") + rel[i];
    Fd next(::openat(dir.get(), rel[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (next.get() < 0) {
      int e = errno;
      if (e == ENOENT && missing) {
        *missing = true;
        return Fd();
      }
      return invalid("LogFileEventConsumer.Filename '" + filename + "': '" + path +
                     "' below log_directory is " +
                     (e == ENOENT ? std::string("missing") : what_is(dir.get(), rel[i])));
    }
    dir = std::move(next);
  }
  return dir;
}

/// The file's mutex, shared by every consumer writing that file: deliveries never interleave.
std::shared_ptr<std::mutex> file_mutex(const std::string& key) {
  static std::mutex registry_mu;
  static std::map<std::string, std::weak_ptr<std::mutex>> registry;
  std::lock_guard<std::mutex> lock(registry_mu);
  for (auto it = registry.begin(); it != registry.end();)
    it = it->second.expired() ? registry.erase(it) : std::next(it);
  auto& slot = registry[key];
  if (auto m = slot.lock()) return m;
  auto m = std::make_shared<std::mutex>();
  slot = m;
  return m;
}

class LogFileAction : public ConsumerAction {
 public:
  LogFileAction(LogFileConsumer spec, std::string directory, std::vector<std::string> rel)
      : spec_(std::move(spec)), directory_(std::move(directory)), rel_(std::move(rel)) {
    std::string key = directory_;
    for (const std::string& c : rel_) key += "/" + c;
    mu_ = file_mutex(key);
  }

  void deliver(const Instance& event, Delivered done) override {
    auto line = expand_line(spec_.text, event);
    if (!line.ok()) {
      Error e = line.take_error();
      e.message = "LogFileEventConsumer.Text: " + e.message;
      return done(std::move(e));
    }
    *line += '\n';
    Result<void> r;
    {
      std::lock_guard<std::mutex> lock(*mu_);
      r = append(*line);
    }
    done(std::move(r));
  }

 private:
  Result<Fd> open_file(int parent) {
    const std::string& leaf = rel_.back();
    Fd fd(::openat(parent, leaf.c_str(),
                   O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
                   0640));
    if (fd.get() < 0) {
      int e = errno;
      return Error{
          WbemStatus::kFailed,
          spec_.filename + ": " +
              (e == ELOOP ? std::string("is a symbolic link (never followed)") : std::strerror(e))};
    }
    struct stat st;
    if (::fstat(fd.get(), &st) != 0)
      return Error{WbemStatus::kFailed, spec_.filename + ": " + std::strerror(errno)};
    if (!S_ISREG(st.st_mode))
      return Error{WbemStatus::kFailed, spec_.filename + " is not a regular file"};
    if (st.st_nlink != 1)
      return Error{WbemStatus::kFailed, spec_.filename + " has " + std::to_string(st.st_nlink) +
                                            " hard links; a log file must have one"};
    return fd;
  }

  Result<void> append(const std::string& line) {
    if (rel_.empty())
      return Error{WbemStatus::kFailed, spec_.filename + " is not under log_directory"};
    auto dir = open_log_directory(directory_);
    if (!dir.ok()) return Error{WbemStatus::kFailed, dir.error().message};
    auto parent = open_parent(std::move(*dir), rel_, spec_.filename, nullptr);
    if (!parent.ok()) return Error{WbemStatus::kFailed, parent.error().message};
    auto fd = open_file(parent->get());
    if (!fd.ok()) return fd.take_error();
    struct stat st;
    if (::fstat(fd->get(), &st) != 0)
      return Error{WbemStatus::kFailed, spec_.filename + ": " + std::strerror(errno)};
    const uint64_t size = static_cast<uint64_t>(st.st_size);
    if (spec_.maximum_file_size != 0 && size > 0 && size + line.size() > spec_.maximum_file_size) {
      // renameat replaces Filename.1 itself, even if it is a link: nothing is followed.
      const std::string rotated = rel_.back() + ".1";
      if (::renameat(parent->get(), rel_.back().c_str(), parent->get(), rotated.c_str()) != 0)
        return Error{WbemStatus::kFailed, "could not rotate " + spec_.filename + " to " +
                                              spec_.filename + ".1: " + std::strerror(errno)};
      fd = open_file(parent->get());
      if (!fd.ok()) return fd.take_error();
    }
    // One write on an O_APPEND descriptor: the line lands whole at the end.
    ssize_t w = ::write(fd->get(), line.data(), line.size());
    if (w != static_cast<ssize_t>(line.size()))
      return Error{WbemStatus::kFailed,
                   "could not append to " + spec_.filename + ": " +
                       (w < 0 ? std::strerror(errno) : std::string("short write"))};
    return {};
  }

  const LogFileConsumer spec_;
  const std::string directory_;
  const std::vector<std::string> rel_;
  std::shared_ptr<std::mutex> mu_;
};

}  // namespace

Result<void> check_log_file(const LogFileConsumer& c, const ConsumerSettings& settings) {
  auto rel = below_directory(c.filename, settings.log_directory);
  if (!rel.ok()) return rel.take_error();
  auto dir = open_log_directory(settings.log_directory);
  if (!dir.ok()) return dir.take_error();
  bool missing = false;
  auto parent = open_parent(std::move(*dir), *rel, c.filename, &missing);
  if (!parent.ok()) return parent.take_error();
  if (!missing) {
    struct stat st;
    if (::fstatat(parent->get(), rel->back().c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
      if (S_ISLNK(st.st_mode))
        return invalid("LogFileEventConsumer.Filename '" + c.filename +
                       "' is a symbolic link (never followed)");
      if (!S_ISREG(st.st_mode))
        return invalid("LogFileEventConsumer.Filename '" + c.filename + "' is not a regular file");
      if (st.st_nlink != 1)
        return invalid("LogFileEventConsumer.Filename '" + c.filename + "' has " +
                       std::to_string(st.st_nlink) + " hard links; a log file must have one");
    }
  }
  if (auto t = check_template(c.text); !t.ok()) {
    Error e = t.error();
    e.message = "LogFileEventConsumer.Text: " + e.message;
    return e;
  }
  return {};
}

std::unique_ptr<ConsumerAction> make_log_file_action(const LogFileConsumer& c,
                                                     const ConsumerSettings& settings) {
  auto rel = below_directory(c.filename, settings.log_directory);
  return std::make_unique<LogFileAction>(c, settings.log_directory,
                                         rel.ok() ? *rel : std::vector<std::string>{});
}

}  // namespace lwmi::permanent
