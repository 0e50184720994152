/* os/bpf/process_monitor.bpf.c — lwmi's kernel side: process events and the exec guard.
 *
 * Three tp_btf programs, on the scheduler's fork, exec and exit tracepoints, record each
 * process at the moment it happens (pid, parent, start time, credentials, comm, the executable
 * with its device, inode and path as the kernel resolved it, argv, cgroup, exit status) into a
 * ring buffer; a record that finds the buffer full is counted in `lost`, and user space rescans.
 * At exec, before the program returns to user space, the guard looks the executable up in the
 * rule map (identity, file name, directory + name, comm; each for the process's uid or any uid)
 * and kills a match with bpf_send_signal(SIGKILL). Nothing in user space is on the exec path.
 * Never blocked: PID 1, lwmid itself, kernel threads, a protected executable. A rule does not
 * block a process in its exempt session, nor once its per-second breaker has tripped; another
 * rule matching the same exec still does (every matching key is tried until one blocks). */
/* The kernel's types first: libbpf's headers use them. */
#include "vmlinux_min.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "abi.h"

char LICENSE[] SEC("license") = "GPL";

#define SIGKILL 9

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 16 << 20);
} events SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} lost SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct lwmi_config);
} config SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, LWMI_MAX_RULES);
  __type(key, struct lwmi_rule_key);
  __type(value, struct lwmi_rule_value);
} rules SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, LWMI_MAX_RULES);
  __type(key, __u32);
  __type(value, struct lwmi_rule_state);
} rule_state SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, LWMI_MAX_PROTECTED);
  __type(key, struct lwmi_identity);
  __type(value, __u8);
} protected_files SEC(".maps");

/* Scratch space for a rule key (too big for the 512-byte stack). */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct lwmi_rule_key);
} key_scratch SEC(".maps");

static __always_inline struct lwmi_config* get_config(void) {
  __u32 zero = 0;
  return bpf_map_lookup_elem(&config, &zero);
}

static __always_inline void count_lost(void) {
  __u32 zero = 0;
  __u64* n = bpf_map_lookup_elem(&lost, &zero);
  if (n) *n += 1;
}

static __always_inline void fill_head(struct lwmi_event_head* h, __u32 kind,
                                      struct task_struct* task) {
  h->kind = kind;
  h->flags = 0;
  h->timestamp_ns = bpf_ktime_get_ns();
  struct task_struct* leader = BPF_CORE_READ(task, group_leader);
  h->start_ns = BPF_CORE_READ(leader, start_boottime);
  h->cgroup_id = bpf_get_current_cgroup_id();
  h->pid = BPF_CORE_READ(task, tgid);
  h->tid = BPF_CORE_READ(task, pid);
  h->ppid = BPF_CORE_READ(task, real_parent, tgid);
  h->exit_code = 0;
  const struct cred* cred = BPF_CORE_READ(task, real_cred);
  h->uid = BPF_CORE_READ(cred, uid.val);
  h->euid = BPF_CORE_READ(cred, euid.val);
  h->suid = BPF_CORE_READ(cred, suid.val);
  h->gid = BPF_CORE_READ(cred, gid.val);
  h->egid = BPF_CORE_READ(cred, egid.val);
  h->rule = 0;
  BPF_CORE_READ_STR_INTO(&h->comm, task, comm);
}

/* A fork or exec record is built in per-CPU scratch space, then copied into the ring buffer only
 * as long as it is (bpf_ringbuf_output). The path is walked by a bpf_loop callback, which the
 * verifier checks once (an unrolled walk with a variable offset explodes its state count). */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct lwmi_exec_event);
} event_scratch SEC(".maps");

struct path_walk {
  struct dentry* dentry;
  struct vfsmount* vfsmnt;
  struct mount* mnt;
  __u32 off;
  __u32 parts;
  __u32 done;
};

static long path_step(__u32 index, void* arg) {
  struct path_walk* w = arg;
  __u32 zero = 0;
  struct lwmi_exec_event* b = bpf_map_lookup_elem(&event_scratch, &zero);
  if (!b) return 1;
  /* Local copies: a CO-RE read must start from a kernel type, not from path_walk. */
  struct dentry* dentry = w->dentry;
  struct vfsmount* vfsmnt = w->vfsmnt;
  struct mount* mnt = w->mnt;
  struct dentry* mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
  struct dentry* parent = BPF_CORE_READ(dentry, d_parent);
  if (dentry != mnt_root && dentry == parent && w->parts == 0) {
    /* A file with no directory (a memfd: "memfd:<name>" on the kernel's internal mount): its
     * own name, "/memfd:x" as the kernel's d_path gives it, rather than the bare "/". */
    const unsigned char* own = BPF_CORE_READ(dentry, d_name.name);
    long n = bpf_probe_read_kernel_str(&b->data[0], LWMI_NAME_LEN, own);
    if (n > 0) {
      w->off = (__u32)n;
      w->parts = 1;
    }
    w->done = 1;
    return 1;
  }
  if (dentry == mnt_root || dentry == parent) {
    struct mount* mnt_parent = BPF_CORE_READ(mnt, mnt_parent);
    if (mnt_parent == mnt || !mnt_parent) {
      w->done = 1; /* the root of the mount tree */
      return 1;
    }
    /* Cross to the mount point in the parent mount (one of the loop's steps). */
    w->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
    w->mnt = mnt_parent;
    w->vfsmnt = (struct vfsmount*)((char*)mnt_parent + bpf_core_field_offset(struct mount, mnt));
    return 0;
  }
  if (w->off >= LWMI_PATH_BYTES) return 1;
  const unsigned char* name = BPF_CORE_READ(dentry, d_name.name);
  long n = bpf_probe_read_kernel_str(&b->data[w->off & (LWMI_PATH_BYTES - 1)], LWMI_NAME_LEN, name);
  if (n <= 0) return 1;
  w->off += (__u32)n;
  w->parts++;
  w->dentry = parent;
  return 0;
}

/* The path of `file`, leaf first, crossing mount points up to the namespace's root. */
static __always_inline void fill_file(struct lwmi_exec_event* e, struct file* file) {
  e->path_parts = 0;
  e->path_bytes = 0;
  e->dev = 0;
  e->ino = 0;
  if (!file) {
    e->h.flags |= LWMI_F_NO_FILE;
    return;
  }
  struct inode* inode = BPF_CORE_READ(file, f_inode);
  e->dev = BPF_CORE_READ(inode, i_sb, s_dev);
  e->ino = BPF_CORE_READ(inode, i_ino);
  struct path_walk w = {};
  w.dentry = BPF_CORE_READ(file, f_path.dentry);
  w.vfsmnt = BPF_CORE_READ(file, f_path.mnt);
  w.mnt = (struct mount*)((char*)w.vfsmnt - bpf_core_field_offset(struct mount, mnt));
  bpf_loop(LWMI_PATH_DEPTH + 8, path_step, &w, 0); /* writes e->data: e is the scratch */
  if (!w.done) e->h.flags |= LWMI_F_PATH_TRUNCATED;
  e->path_parts = w.parts;
  e->path_bytes = w.off > LWMI_PATH_AREA ? LWMI_PATH_AREA : w.off;
}

/* argv, after the path in e->data. */
static __always_inline void fill_argv(struct lwmi_exec_event* e, struct task_struct* task) {
  struct mm_struct* mm = BPF_CORE_READ(task, mm);
  e->argv_bytes = 0;
  __u32 at = e->path_bytes;
  if (at > LWMI_PATH_AREA) at = LWMI_PATH_AREA;
  if (!mm) return;
  unsigned long start = BPF_CORE_READ(mm, arg_start), end = BPF_CORE_READ(mm, arg_end);
  if (end <= start) return;
  unsigned long len = end - start;
  if (len > LWMI_ARGV_BYTES) {
    len = LWMI_ARGV_BYTES;
    e->h.flags |= LWMI_F_ARGV_TRUNCATED;
  }
  if (bpf_probe_read_user(
          &e->data[at], len & (LWMI_ARGV_BYTES - 1) ? len & (LWMI_ARGV_BYTES - 1) : LWMI_ARGV_BYTES,
          (const void*)start) != 0) {
    e->h.flags |= LWMI_F_ARGV_UNREAD;
    return;
  }
  e->argv_bytes = (__u32)len;
}

/* Copies the record into the ring buffer, only as long as its path and argv; a full buffer is
 * counted as loss (user space rescans). */
static __always_inline void send(struct lwmi_exec_event* e) {
  __u64 size = __builtin_offsetof(struct lwmi_exec_event, data) + (__u64)e->path_bytes +
               (__u64)e->argv_bytes;
  if (size > sizeof(*e)) size = sizeof(*e);
  if (bpf_ringbuf_output(&events, e, size, 0) != 0) count_lost();
}

static __always_inline __u32 session_of(struct task_struct* task) {
  struct pid* sid = BPF_CORE_READ(task, signal, pids[PIDTYPE_SID]);
  if (!sid) return 0;
  return (__u32)BPF_CORE_READ(sid, numbers[0].nr);
}

/* Applies the rule `v` (NULL: no key matched) to the process: LWMI_F_BLOCKED when it blocks
 * (counted against its breaker), LWMI_F_BREAKER when its breaker is open, 0 when the process is
 * in the rule's exempt session. *rule_out is set when the answer is not 0. */
static __always_inline __u32 apply_rule(struct lwmi_config* cfg, struct task_struct* task,
                                        struct lwmi_rule_value* v, __u32* rule_out) {
  if (!v) return 0;
  if (v->exempt_session && session_of(task) == v->exempt_session) return 0;
  __u32 rule = v->rule;
  *rule_out = rule;
  struct lwmi_rule_state* st = bpf_map_lookup_elem(&rule_state, &rule);
  if (st) {
    if (st->tripped) return LWMI_F_BREAKER;
    __u64 now = bpf_ktime_get_ns();
    if (now - st->window_start_ns >= 1000000000ull) {
      st->window_start_ns = now;
      st->window_count = 0;
    }
    st->window_count++;
    if (cfg->breaker_per_second && st->window_count > cfg->breaker_per_second) {
      st->tripped = 1;
      return LWMI_F_BREAKER;
    }
    st->blocked++;
  }
  return LWMI_F_BLOCKED;
}

/* Applies the rules of `key` for the process's uid, then for any uid: LWMI_F_BLOCKED (the rule
 * in *rule_out) when one blocks; a rule whose breaker is open is noted in *breaker_rule. One
 * rule's exempt session or open breaker never spares a process another rule blocks. */
static __always_inline __u32 check_key(struct lwmi_config* cfg, struct task_struct* task,
                                       struct lwmi_rule_key* key, __u32 uid, __u32* rule_out,
                                       __u32* breaker_rule) {
  __u32 rule = 0;
  key->uid = uid;
  __u32 verdict = apply_rule(cfg, task, bpf_map_lookup_elem(&rules, key), &rule);
  if (verdict == LWMI_F_BLOCKED) {
    *rule_out = rule;
    return verdict;
  }
  if (verdict == LWMI_F_BREAKER && !*breaker_rule) *breaker_rule = rule;
  key->uid = LWMI_ANY_UID;
  verdict = apply_rule(cfg, task, bpf_map_lookup_elem(&rules, key), &rule);
  if (verdict == LWMI_F_BLOCKED) {
    *rule_out = rule;
    return verdict;
  }
  if (verdict == LWMI_F_BREAKER && !*breaker_rule) *breaker_rule = rule;
  return 0;
}

/* Every key the exec could match (identity, file name, directory + name, comm), each for the
 * process's uid and for any uid, until a rule blocks. */
static __always_inline __u32 match_rules(struct lwmi_config* cfg, struct task_struct* task,
                                         struct file* file, __u32 uid, __u32* rule_out) {
  __u32 zero = 0;
  struct lwmi_rule_key* key = bpf_map_lookup_elem(&key_scratch, &zero);
  if (!key || !file) return 0;
  __u32 breaker_rule = 0;
  __builtin_memset(key, 0, sizeof(*key));
  struct inode* inode = BPF_CORE_READ(file, f_inode);
  key->kind = LWMI_RULE_IDENTITY;
  key->dev = BPF_CORE_READ(inode, i_sb, s_dev);
  key->ino = BPF_CORE_READ(inode, i_ino);
  if (check_key(cfg, task, key, uid, rule_out, &breaker_rule)) return LWMI_F_BLOCKED;
  /* The file's own name: in any directory, then in its directory. */
  struct dentry* dentry = BPF_CORE_READ(file, f_path.dentry);
  const unsigned char* name = BPF_CORE_READ(dentry, d_name.name);
  key->kind = LWMI_RULE_FILE_NAME;
  key->dev = 0;
  key->ino = 0;
  if (bpf_probe_read_kernel_str(key->name, sizeof(key->name), name) > 0) {
    if (check_key(cfg, task, key, uid, rule_out, &breaker_rule)) return LWMI_F_BLOCKED;
    struct inode* dir = BPF_CORE_READ(dentry, d_parent, d_inode);
    key->kind = LWMI_RULE_PATH;
    key->dev = BPF_CORE_READ(dir, i_sb, s_dev);
    key->ino = BPF_CORE_READ(dir, i_ino);
    if (check_key(cfg, task, key, uid, rule_out, &breaker_rule)) return LWMI_F_BLOCKED;
  }
  __builtin_memset(key, 0, sizeof(*key));
  key->kind = LWMI_RULE_COMM;
  BPF_CORE_READ_STR_INTO(&key->name, task, comm);
  if (check_key(cfg, task, key, uid, rule_out, &breaker_rule)) return LWMI_F_BLOCKED;
  if (!breaker_rule) return 0;
  *rule_out = breaker_rule;
  return LWMI_F_BREAKER;
}

/* Returns the flags to add to the exec record: LWMI_F_BLOCKED (and kills), LWMI_F_BREAKER, 0. */
static __always_inline __u32 guard(struct lwmi_config* cfg, struct task_struct* task,
                                   struct file* file, __u32* rule_out) {
  if (!cfg->guard) return 0;
  __s32 tgid = BPF_CORE_READ(task, tgid);
  if (tgid == 1 || tgid == cfg->daemon_tgid) return 0;
  if (BPF_CORE_READ(task, flags) & PF_KTHREAD) return 0;
  if (!file) return 0;
  struct lwmi_identity id = {};
  struct inode* inode = BPF_CORE_READ(file, f_inode);
  id.dev = BPF_CORE_READ(inode, i_sb, s_dev);
  id.ino = BPF_CORE_READ(inode, i_ino);
  if (bpf_map_lookup_elem(&protected_files, &id)) return 0;
  __u32 uid = BPF_CORE_READ(task, real_cred, uid.val);
  __u32 verdict = match_rules(cfg, task, file, uid, rule_out);
  if (verdict == LWMI_F_BLOCKED) bpf_send_signal(SIGKILL);
  return verdict;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(lwmi_exec, struct task_struct* task, pid_t old_pid, struct linux_binprm* bprm) {
  struct lwmi_config* cfg = get_config();
  if (!cfg) return 0;
  struct file* file = BPF_CORE_READ(bprm, file);
  __u32 rule = 0;
  __u32 verdict = guard(cfg, task, file, &rule);
  if (!cfg->events && !verdict) return 0;
  __u32 zero = 0;
  struct lwmi_exec_event* e = bpf_map_lookup_elem(&event_scratch, &zero);
  if (!e) return 0;
  fill_head(&e->h, LWMI_EV_EXEC, task);
  e->h.flags |= verdict;
  e->h.rule = rule;
  fill_file(e, file);
  fill_argv(e, task);
  send(e);
  return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(lwmi_fork, struct task_struct* parent, struct task_struct* child) {
  struct lwmi_config* cfg = get_config();
  if (!cfg || !cfg->events) return 0;
  if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid)) return 0; /* a thread */
  __u32 zero = 0;
  struct lwmi_exec_event* e = bpf_map_lookup_elem(&event_scratch, &zero);
  if (!e) return 0;
  fill_head(&e->h, LWMI_EV_FORK, child);
  /* The child runs its parent's program with its parent's arguments (a copy of its memory,
   * which is the current task's here). */
  struct mm_struct* mm = BPF_CORE_READ(child, mm);
  fill_file(e, mm ? BPF_CORE_READ(mm, exe_file) : 0);
  fill_argv(e, parent);
  send(e);
  return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(lwmi_exit, struct task_struct* task) {
  struct lwmi_config* cfg = get_config();
  if (!cfg || !cfg->events) return 0;
  /* The process ends with its last thread. */
  if (BPF_CORE_READ(task, signal, live.counter) != 0) return 0;
  struct lwmi_event_head* h = bpf_ringbuf_reserve(&events, sizeof(*h), 0);
  if (!h) {
    count_lost();
    return 0;
  }
  fill_head(h, LWMI_EV_EXIT, task);
  h->exit_code = (__u32)BPF_CORE_READ(task, exit_code);
  bpf_ringbuf_submit(h, 0);
  return 0;
}
