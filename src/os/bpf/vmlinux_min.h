/* os/bpf/vmlinux_min.h — the few kernel types lwmi's BPF programs read, declared by hand.
 *
 * CO-RE: every struct is marked preserve_access_index, so clang records each field access by
 * name and libbpf relocates it at load time against the running kernel's own BTF
 * (/sys/kernel/btf/vmlinux). Only the fields named here must exist; their order, offsets and the
 * other fields of the kernel's structs do not matter. A checked-in header (rather than one
 * generated from the build machine's kernel) keeps the build reproducible on any builder —
 * a chroot, a container or a Debian buildd without /sys/kernel/btf — and small (clang parses a
 * page, not a 3 MB dump). */
#ifndef LWMI_VMLINUX_MIN_H
#define LWMI_VMLINUX_MIN_H

typedef unsigned char __u8;
typedef short unsigned int __u16;
typedef unsigned int __u32;
typedef long long unsigned int __u64;
typedef signed char __s8;
typedef short int __s16;
typedef int __s32;
typedef long long int __s64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;
typedef int pid_t;
typedef unsigned int uid_t;
typedef unsigned int gid_t;
typedef __u32 dev_t;
typedef _Bool bool;
#define true 1
#define false 0

enum bpf_map_type {
  BPF_MAP_TYPE_HASH = 1,
  BPF_MAP_TYPE_ARRAY = 2,
  BPF_MAP_TYPE_PERCPU_ARRAY = 6,
  BPF_MAP_TYPE_RINGBUF = 27,
};
enum { BPF_ANY = 0, BPF_NOEXIST = 1, BPF_EXIST = 2 };

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

typedef struct {
  int counter;
} atomic_t;
typedef struct {
  uid_t val;
} kuid_t;
typedef struct {
  gid_t val;
} kgid_t;

struct qstr {
  union {
    struct {
      __u32 hash;
      __u32 len;
    };
    __u64 hash_len;
  };
  const unsigned char* name;
};

struct super_block {
  dev_t s_dev;
};

struct inode {
  unsigned long i_ino;
  struct super_block* i_sb;
};

struct dentry {
  struct dentry* d_parent;
  struct qstr d_name;
  struct inode* d_inode;
};

struct vfsmount {
  struct dentry* mnt_root;
};

struct mount {
  struct mount* mnt_parent;
  struct dentry* mnt_mountpoint;
  struct vfsmount mnt;
};

struct path {
  struct vfsmount* mnt;
  struct dentry* dentry;
};

struct file {
  struct path f_path;
  struct inode* f_inode;
};

struct linux_binprm {
  struct file* file;
  const char* filename;
};

struct mm_struct {
  unsigned long arg_start;
  unsigned long arg_end;
  struct file* exe_file;
};

struct cred {
  kuid_t uid;
  kgid_t gid;
  kuid_t suid;
  kgid_t sgid;
  kuid_t euid;
  kgid_t egid;
};

struct upid {
  int nr;
};

struct pid {
  struct upid numbers[1];
};

struct signal_struct {
  atomic_t live;
  struct pid* pids[4];
};

struct task_struct {
  unsigned int flags;
  int exit_code;
  pid_t pid;
  pid_t tgid;
  struct task_struct* real_parent;
  struct task_struct* group_leader;
  __u64 start_boottime;
  const struct cred* real_cred;
  const struct cred* cred;
  char comm[16];
  struct mm_struct* mm;
  struct signal_struct* signal;
};

#pragma clang attribute pop

#define PIDTYPE_SID 3
#define PF_KTHREAD 0x00200000

#endif
