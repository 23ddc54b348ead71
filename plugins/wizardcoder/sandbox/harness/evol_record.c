/*
 * The completion record of C and C++ programs in the evolinstruct sandbox (see toolchains.py).
 *
 * Linked first into the program, with -Wl,--wrap=main: the C library's start-up calls
 * __wrap_main below, which calls the tests' main (__real_main) and writes the record only when
 * that main has returned. Every other way out of the process (exit, _exit, __real_exit,
 * dlsym("exit"), pthread_exit from main, abort, a signal, a static initializer or an atexit
 * handler that ends the process) leaves no record, so a program whose tests did not run to their
 * end cannot pass.
 *
 * The nonce is read at start-up (.preinit_array, before the program's own initializers, as this
 * object comes first in the link) and its descriptor closed. Nothing here calls the C library:
 * the program could define `write` or `snprintf` of its own, and the executable's definitions
 * take the place of the library's for every object linked in. System calls are made directly.
 *
 * Given on the compiler's command line, per job: EVOL_REPORT_FD, EVOL_NONCE_FD, EVOL_ASSERT_FAIL
 * and EVOL_ASSERTED (the names of the tests' assertion functions, random per job, so that the
 * program cannot define, overload or call them) and EVOL_COUNTING (1 when the tests use assert:
 * a run that executed none of their assertions is reported as having run no test).
 */
#include <sys/syscall.h>

typedef unsigned long evol_size;

static long evol_syscall(long number, long a, long b, long c) {
#if defined(__x86_64__)
    long result;
    __asm__ volatile("syscall" : "=a"(result) : "a"(number), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return result;
#elif defined(__aarch64__)
    register long x8 __asm__("x8") = number;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
    return x0;
#else
#error "evol_record.c: no direct system calls for this architecture"
#endif
}

static char evol_nonce[64];
static long evol_nonce_size;
static unsigned long evol_assertions;

static void evol_take_nonce(int argc, char **argv, char **envp) {
    (void) argc, (void) argv, (void) envp;
    evol_nonce_size = evol_syscall(SYS_read, EVOL_NONCE_FD, (long) evol_nonce, sizeof evol_nonce);
    evol_syscall(SYS_close, EVOL_NONCE_FD, 0, 0);
}

__attribute__((section(".preinit_array"), used)) static void (*const evol_preinit)(int, char **, char **) = evol_take_nonce;

/* A record is built in this buffer with these helpers: no C library. */
struct evol_text {
    char data[1024];
    evol_size size;
};

static void evol_add(struct evol_text *text, const char *piece) {
    while (*piece && text->size < sizeof text->data - 1) {
        text->data[text->size++] = *piece++;
    }
}

static void evol_add_escaped(struct evol_text *text, const char *piece, evol_size limit) {
    static const char hex[] = "0123456789abcdef";
    for (evol_size i = 0; piece && piece[i] && i < limit && text->size < sizeof text->data - 8; i++) {
        unsigned char c = (unsigned char) piece[i];
        if (c == '"' || c == '\\') {
            text->data[text->size++] = '\\';
            text->data[text->size++] = (char) c;
        } else if (c < 0x20) {
            const char escape[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
            evol_add(text, escape);
        } else {
            text->data[text->size++] = (char) c;
        }
    }
}

static void evol_add_number(struct evol_text *text, long value) {
    char digits[24];
    int count = 0;
    unsigned long magnitude = value < 0 ? 0UL - (unsigned long) value : (unsigned long) value;
    do {
        digits[count++] = (char) ('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude);
    if (value < 0) {
        evol_add(text, "-");
    }
    while (count) {
        const char digit[] = {digits[--count], 0};
        evol_add(text, digit);
    }
}

static void evol_write(int fd, const struct evol_text *text) {
    evol_size done = 0;
    while (done < text->size) {
        long written = evol_syscall(SYS_write, fd, (long) (text->data + done), (long) (text->size - done));
        if (written <= 0) {
            return;
        }
        done += (evol_size) written;
    }
}

/* {"nonce": "...", "verdict": VERDICT ... }: the caller adds the rest and the closing brace. */
static int evol_record_start(struct evol_text *text, const char *verdict) {
    if (evol_nonce_size <= 0) {
        return 0; /* the nonce was not ours to read: no record */
    }
    text->size = 0;
    evol_add(text, "{\"nonce\": \"");
    evol_add_escaped(text, evol_nonce, (evol_size) evol_nonce_size);
    evol_add(text, "\", \"verdict\": \"");
    evol_add(text, verdict);
    evol_add(text, "\"");
    return 1;
}

void EVOL_ASSERTED(void) {
    evol_assertions++;
}

/* A failed assertion of the tests: glibc's message, a FAIL record, and the end of the process
 * with SIGABRT's status, without anything the program could have replaced in between. */
__attribute__((noreturn)) void EVOL_ASSERT_FAIL(const char *assertion, const char *file, unsigned int line,
                                                const char *function) {
    struct evol_text message;
    struct evol_text record;
    message.size = 0; /* no initializer: the compiler would clear the buffer with memset */
    evol_add(&message, "solution: ");
    evol_add(&message, file);
    evol_add(&message, ":");
    evol_add_number(&message, (long) line);
    evol_add(&message, ": ");
    if (function) {
        evol_add(&message, function);
        evol_add(&message, ": ");
    }
    evol_add(&message, "Assertion `");
    evol_add(&message, assertion);
    evol_add(&message, "' failed.\n");
    evol_write(2, &message);
    if (evol_record_start(&record, "FAIL")) {
        evol_add(&record, ", \"message\": \"");
        evol_add_escaped(&record, message.data, message.size > 400 ? 400 : message.size - 1);
        evol_add(&record, "\"}");
        evol_write(EVOL_REPORT_FD, &record);
    }
    for (;;) {
        evol_syscall(SYS_exit_group, 134, 0, 0);
    }
}

int __real_main(int argc, char **argv, char **envp);

int __wrap_main(int argc, char **argv, char **envp) {
    struct evol_text record;
    int status = __real_main(argc, argv, envp);
    if (status != 0) {
        if (evol_record_start(&record, "FAIL")) {
            evol_add(&record, ", \"message\": \"the tests' main returned ");
            evol_add_number(&record, status);
            evol_add(&record, "\"}");
            evol_write(EVOL_REPORT_FD, &record);
        }
        return status;
    }
    if (evol_record_start(&record, "PASS")) {
        if (EVOL_COUNTING && evol_assertions == 0) {
            /* The tests' assertions were never reached: a run that checked nothing. */
            evol_add(&record, ", \"passed\": 0, \"total\": 0");
        }
        evol_add(&record, "}");
        evol_write(EVOL_REPORT_FD, &record);
    }
    return 0;
}
