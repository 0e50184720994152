/* os/bpf/abi.h — what lwmi's BPF programs and lwmid share: the ring-buffer records, the guard's
 * rule keys and the configuration. C, fixed-width types only: compiled by clang for BPF and by
 * the C++ compiler for user space, the layouts must agree (static_asserts in bpf_monitor.cc).
 * Before including it, BPF code includes vmlinux_min.h and user-space code <linux/types.h>. */
#ifndef LWMI_OS_BPF_ABI_H
#define LWMI_OS_BPF_ABI_H

#define LWMI_COMM_LEN 16
/* A path is sent leaf first: each component NUL-terminated, at most LWMI_PATH_DEPTH of them,
 * each read with at most LWMI_NAME_LEN bytes; user space reverses them. */
#define LWMI_PATH_DEPTH 24
#define LWMI_NAME_LEN 256
#define LWMI_PATH_BYTES 2048
/* argv as the process's memory holds it: NUL-separated, at most LWMI_ARGV_BYTES. */
#define LWMI_ARGV_BYTES 2048
#define LWMI_ANY_UID 0xffffffffu

enum lwmi_event_kind {
  LWMI_EV_FORK = 1, /* a new process (not a thread): pid is the child */
  LWMI_EV_EXEC = 2,
  LWMI_EV_EXIT = 3, /* the last thread of a process ended */
};

enum lwmi_event_flags {
  LWMI_F_BLOCKED = 1u << 0,        /* exec: the guard killed it (rule says which) */
  LWMI_F_ARGV_TRUNCATED = 1u << 1, /* more arguments than LWMI_ARGV_BYTES */
  LWMI_F_PATH_TRUNCATED = 1u << 2, /* deeper than LWMI_PATH_DEPTH: path is a tail */
  LWMI_F_NO_FILE = 1u << 3,        /* no executable (a kernel thread's fork) */
  LWMI_F_BREAKER = 1u << 4,        /* exec: a rule matched but its breaker is open: not blocked */
  LWMI_F_ARGV_UNREAD = 1u << 5,    /* argv could not be read */
};

struct lwmi_event_head {
  __u32 kind;
  __u32 flags;
  __u64 timestamp_ns; /* CLOCK_MONOTONIC (bpf_ktime_get_ns), as the connector's events */
  __u64 start_ns;     /* the process's start, CLOCK_BOOTTIME ns: /proc stat's starttime source */
  __u64 cgroup_id;
  __s32 pid;       /* the process (thread group id) */
  __s32 tid;       /* the thread the event happened on */
  __s32 ppid;      /* its real parent's process id */
  __u32 exit_code; /* exit: the wait status (exit(3): 3 << 8; SIGKILL: 9) */
  __u32 uid, euid, suid, gid, egid;
  __u32 rule; /* blocked or breaker: the rule's id */
  char comm[LWMI_COMM_LEN];
};

#define LWMI_PATH_AREA (LWMI_PATH_BYTES + LWMI_NAME_LEN)

/* fork and exec: who it is and what it runs. Sent only as long as its data: the fixed part,
 * then path_bytes of path, then argv_bytes of argv (a few hundred bytes, not the 4.5 KB the
 * largest takes), so the ring buffer holds tens of thousands of them. */
struct lwmi_exec_event {
  struct lwmi_event_head h;
  __u64 dev; /* the executable's device (kernel encoding: major << 20 | minor) */
  __u64 ino;
  __u32 path_parts; /* components in path */
  __u32 path_bytes; /* bytes of path, at data[0] */
  __u32 argv_bytes; /* bytes of argv, at data[path_bytes] */
  __u32 pad;
  char data[LWMI_PATH_AREA + LWMI_ARGV_BYTES];
};

enum lwmi_rule_kind {
  LWMI_RULE_IDENTITY = 1,  /* dev + ino of the file the kernel runs */
  LWMI_RULE_FILE_NAME = 2, /* the file's own name (its directory entry), any directory */
  LWMI_RULE_PATH = 3,      /* name in the directory dev + ino */
  LWMI_RULE_COMM = 4,      /* the task's comm after exec (the name it was started by, 15 bytes) */
};

struct lwmi_rule_key {
  __u64 dev;
  __u64 ino;
  __u32 uid; /* the process's real uid, or LWMI_ANY_UID */
  __u32 kind;
  char name[LWMI_NAME_LEN]; /* zero-padded */
};

struct lwmi_rule_value {
  __u32 rule;
  __u32 exempt_session; /* a process in this session (its sid) is not blocked; 0: none */
};

struct lwmi_rule_state {
  __u64 window_start_ns;
  __u64 blocked;      /* execs blocked, ever */
  __u32 window_count; /* blocked in the current one-second window */
  __u32 tripped;      /* the breaker opened: this rule blocks nothing more */
};

struct lwmi_identity {
  __u64 dev;
  __u64 ino;
};

struct lwmi_config {
  __u32 events;             /* send fork/exec/exit records */
  __u32 guard;              /* check rules at exec */
  __s32 daemon_tgid;        /* never blocked */
  __u32 breaker_per_second; /* a rule blocking more than this per second trips (0: never) */
};

#define LWMI_MAX_RULES 4096
#define LWMI_MAX_PROTECTED 1024

#endif
