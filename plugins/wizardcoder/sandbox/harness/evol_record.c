/*
 * The completion record of C and C++ programs in the evolinstruct sandbox (see toolchains.py).
 *
 * Linked into the program with -Wl,--wrap=exit: every call the program makes to exit() lands in
 * __wrap_exit first, which notes that the run was ended on purpose. Returning from main also ends
 * in exit(), but from inside the C library, which the wrap does not reach. The handler below is
 * registered before any of the program's own, so it runs last, and writes the record only when
 * main returned: a test suite that exits early (exit(0) in the middle of the tests) has none.
 * EVOL_REPORT_FD and EVOL_NONCE_FD are given on the compiler's command line.
 *
 * The tests' assert() calls __evol_assert_fail (toolchains.py maps __assert_fail to it between the
 * code and the tests): a program that defines its own __assert_fail, which would then return as if
 * the assertion held, cannot reach this one.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void __real_exit(int status) __attribute__((noreturn));

static volatile int evol_explicit_exit;

void __wrap_exit(int status) {
    evol_explicit_exit = 1;
    __real_exit(status);
}

static void evol_report(void) {
    char nonce[64];
    char record[160];
    ssize_t size;
    int length;
    if (evol_explicit_exit) {
        return;
    }
    size = read(EVOL_NONCE_FD, nonce, sizeof nonce);
    if (size <= 0) {
        return;
    }
    length = snprintf(record, sizeof record, "{\"nonce\": \"%.*s\", \"verdict\": \"PASS\"}", (int) size, nonce);
    if (length > 0 && write(EVOL_REPORT_FD, record, (size_t) length) < 0) {
        return;
    }
}

__attribute__((constructor(101))) static void evol_register(void) {
    atexit(evol_report);
}

/* What glibc's __assert_fail prints, then the same end: SIGABRT (a trap should the program have
 * replaced raise()). */
__attribute__((noreturn)) void __evol_assert_fail(const char *assertion, const char *file, unsigned int line,
                                                  const char *function) {
    char message[2048];
    int length = snprintf(message, sizeof message, "%s: %s:%u: %s%sAssertion `%s' failed.\n",
                          program_invocation_short_name, file, line, function ? function : "",
                          function ? ": " : "", assertion);
    if (length > 0) {
        size_t size = (size_t) length < sizeof message ? (size_t) length : sizeof message - 1;
        if (write(STDERR_FILENO, message, size) < 0) {
            /* nothing more to say */
        }
    }
    raise(SIGABRT);
    __builtin_trap();
}
