// base/thread_annotations.h — clang's thread-safety attributes, named as in clang's documentation.
//
// They say which mutex guards a member (GUARDED_BY), which a function needs held (REQUIRES) or
// must not hold (EXCLUDES), and which it takes or gives back (ACQUIRE, RELEASE). clang checks
// them at compile time with -Wthread-safety (the fuzz build, which `make test` runs, makes a
// violation an error); other compilers see nothing. They only work on a capability type:
// base::Mutex (base/mutex.h), since libstdc++'s std::mutex carries no attributes.
#pragma once

#if defined(__clang__)
#define LWMI_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define LWMI_THREAD_ANNOTATION(x)
#endif

#define CAPABILITY(x) LWMI_THREAD_ANNOTATION(capability(x))
#define SCOPED_CAPABILITY LWMI_THREAD_ANNOTATION(scoped_lockable)
#define GUARDED_BY(x) LWMI_THREAD_ANNOTATION(guarded_by(x))
#define PT_GUARDED_BY(x) LWMI_THREAD_ANNOTATION(pt_guarded_by(x))
#define ACQUIRED_BEFORE(...) LWMI_THREAD_ANNOTATION(acquired_before(__VA_ARGS__))
#define ACQUIRED_AFTER(...) LWMI_THREAD_ANNOTATION(acquired_after(__VA_ARGS__))
#define REQUIRES(...) LWMI_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define ACQUIRE(...) LWMI_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define RELEASE(...) LWMI_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define TRY_ACQUIRE(...) LWMI_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
#define EXCLUDES(...) LWMI_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define ASSERT_CAPABILITY(x) LWMI_THREAD_ANNOTATION(assert_capability(x))
#define RETURN_CAPABILITY(x) LWMI_THREAD_ANNOTATION(lock_returned(x))
#define NO_THREAD_SAFETY_ANALYSIS LWMI_THREAD_ANNOTATION(no_thread_safety_analysis)
