// os/pid_namespace.cc — see pid_namespace.h.
#include "os/pid_namespace.h"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "base/strings.h"
#include "os/descriptors.h"

namespace lwmi::os {

std::vector<int32_t> parse_nspid(std::string_view text) {
  for (auto line : base::split(text, '\n')) {
    if (line.rfind("NSpid:", 0) != 0) continue;
    std::vector<int32_t> out;
    std::string_view rest = line.substr(6);
    size_t i = 0;
    while (i < rest.size()) {
      while (i < rest.size() && (rest[i] == ' ' || rest[i] == '\t')) ++i;
      size_t j = i;
      while (j < rest.size() && rest[j] != ' ' && rest[j] != '\t') ++j;
      if (j > i) {
        auto v = base::parse_u64(rest.substr(i, j - i));
        if (!v || *v == 0 || *v > INT32_MAX) return {};
        out.push_back(static_cast<int32_t>(*v));
      }
      i = j;
    }
    return out;
  }
  return {};
}

std::optional<uint64_t> parse_ns_link(std::string_view link) {
  constexpr std::string_view kPrefix = "pid:[";
  if (link.size() <= kPrefix.size() + 1 || link.substr(0, kPrefix.size()) != kPrefix ||
      link.back() != ']')
    return std::nullopt;
  auto v = base::parse_u64(link.substr(kPrefix.size(), link.size() - kPrefix.size() - 1));
  if (!v || *v == 0) return std::nullopt;
  return *v;
}

std::optional<PidNamespaceId> pid_namespace_of(const ProcFs& fs, int32_t pid) {
  std::string status, link;
  if (fs.read(pid, "status", &status) != 0) return std::nullopt;
  auto nspid = parse_nspid(status);
  if (nspid.empty()) return std::nullopt;
  if (fs.readlink(pid, "ns/pid", &link) != 0) return std::nullopt;
  auto inode = parse_ns_link(link);
  if (!inode) return std::nullopt;
  return PidNamespaceId{*inode, static_cast<uint32_t>(nspid.size() - 1)};
}

bool PidView::ancestor_is_view(int32_t host_pid, uint32_t up) const {
  if (up == 0) {
    std::string link;
    if (fs_->readlink(host_pid, "ns/pid", &link) != 0) return false;
    auto inode = parse_ns_link(link);
    return inode && *inode == ns_.inode;
  }
  // Deeper than the view: walk up with NS_GET_PARENT (live /proc only; a captured tree's link
  // cannot be opened, and the process then counts as outside: refused, never shown).
  std::string path = fs_->root() + "/" + std::to_string(host_pid) + "/ns/pid";
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return false;
  for (uint32_t i = 0; i < up; ++i) {
    // NS_GET_PARENT's descriptor is close-on-exec (the kernel opens it so).
    fd.reset(::ioctl(fd.get(), NS_GET_PARENT));
    if (!fd) return false;
  }
  struct stat st {};
  return ::fstat(fd.get(), &st) == 0 && static_cast<uint64_t>(st.st_ino) == ns_.inode;
}

std::optional<int32_t> PidView::to_view(int32_t host_pid, const std::vector<int32_t>& nspid) const {
  if (nspid.size() <= ns_.level) return std::nullopt;
  if (nspid.front() != host_pid) return std::nullopt;  // not the process it claims to be
  if (!ancestor_is_view(host_pid, static_cast<uint32_t>(nspid.size() - 1 - ns_.level)))
    return std::nullopt;
  return nspid[ns_.level];
}

std::optional<int32_t> PidView::to_view(int32_t host_pid) const {
  std::string status;
  if (fs_->read(host_pid, "status", &status) != 0) return std::nullopt;
  return to_view(host_pid, parse_nspid(status));
}

std::optional<int32_t> PidView::to_host(int32_t view_pid) const {
  if (view_pid <= 0) return std::nullopt;
  auto scanner = fs_->scan();
  int32_t pid;
  std::string status;
  while (scanner.next(&pid)) {
    if (fs_->read(pid, "status", &status) != 0) continue;
    auto nspid = parse_nspid(status);
    if (nspid.size() <= ns_.level || nspid[ns_.level] != view_pid) continue;
    if (auto v = to_view(pid, nspid); v && *v == view_pid) return pid;
  }
  return std::nullopt;
}

namespace {
bool own_namespace_inode_is(const char* link, ino_t init_ino) {
  struct stat st {};
  if (::stat(link, &st) != 0) return true;  // cannot tell: let the kernel decide
  return st.st_ino == init_ino;
}
}  // namespace

bool in_initial_pid_namespace() {
  return own_namespace_inode_is("/proc/self/ns/pid", 0xEFFFFFFCu);
}

bool in_initial_user_namespace() {
  return own_namespace_inode_is("/proc/self/ns/user", 0xEFFFFFFDu);
}

}  // namespace lwmi::os
