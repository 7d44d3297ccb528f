/* Preloaded after Debian's libfaketime into the browsers of the preflight cache
 * clock run (tests/browser/test_browser.py, test_max_age_caps): lets Firefox start
 * under libfaketime.
 *
 * Firefox's allocator (mozjemalloc, in the executable) reads the clock through
 * std::chrono::steady_clock while it initialises, before libfaketime's own
 * constructor has run.  libfaketime then initialises inside malloc and calls
 * malloc itself (dlsym failing on symbols glibc no longer has, sem_open, fopen of
 * its timestamp file): a deadlock on the allocator's lock.  So:
 *   - the symbols libfaketime looks for and glibc 2.34+ lacks (__ftime,
 *     timer_settime@GLIBC_2.2, timer_gettime@GLIBC_2.2) exist, and its dlsym
 *     calls do not fail;
 *   - std::chrono's clocks read the kernel's clock directly, never libfaketime's
 *     (Firefox's TimeStamp and the preflight cache use clock_gettime, which stays
 *     faked; so do Chromium's base::Time and base::TimeTicks).
 * Build: cc -shared -fPIC -O2 -Wl,--version-script=faketime_shim.map
 */
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/timeb.h>
#include <time.h>
#include <unistd.h>

static int64_t kernel_ns(clockid_t clock)
{
    struct timespec ts;
    syscall(SYS_clock_gettime, clock, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int __ftime(struct timeb *tb)
{
    int64_t ns = kernel_ns(CLOCK_REALTIME);
    tb->time = (time_t)(ns / 1000000000);
    tb->millitm = (unsigned short)(ns / 1000000 % 1000);
    tb->timezone = 0;
    tb->dstflag = 0;
    return 0;
}

int shim_timer_settime(timer_t t, int flags, const struct itimerspec *value,
                       struct itimerspec *old)
{
    return (int)syscall(SYS_timer_settime, t, flags, value, old);
}

int shim_timer_gettime(timer_t t, struct itimerspec *value)
{
    return (int)syscall(SYS_timer_gettime, t, value);
}

__asm__(".symver shim_timer_settime,timer_settime@GLIBC_2.2");
__asm__(".symver shim_timer_gettime,timer_gettime@GLIBC_2.2");

/* std::chrono::_V2::steady_clock::now() and system_clock::now() */
int64_t _ZNSt6chrono3_V212steady_clock3nowEv(void)
{
    return kernel_ns(CLOCK_MONOTONIC);
}

int64_t _ZNSt6chrono3_V212system_clock3nowEv(void)
{
    return kernel_ns(CLOCK_REALTIME);
}
