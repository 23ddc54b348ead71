/*
 * The completion record of C and C++ programs in the evolinstruct sandbox (see toolchains.py).
 *
 * Linked into the program with -Wl,--wrap=exit: every call the program makes to exit() lands in
 * __wrap_exit first, which notes that the run was ended on purpose. Returning from main also ends
 * in exit(), but from inside the C library, which the wrap does not reach. The handler below is
 * registered before any of the program's own, so it runs last, and writes the record only when
 * main returned: a test suite that exits early (exit(0) in the middle of the tests) has none.
 * EVOL_REPORT_FD and EVOL_NONCE_FD are given on the compiler's command line.
 */
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
