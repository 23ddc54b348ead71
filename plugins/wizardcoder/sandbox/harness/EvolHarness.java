// Runs the program's Main.main in the evolinstruct sandbox and writes its completion record
// (see toolchains.py).
//
//     java -ea -cp classes EvolHarness REPORT_FD NONCE_FD
//
// A failed assertion (AssertionError, with -ea) is FAIL, running out of heap MEMORY_LIMIT, any
// other exception RUNTIME_ERROR. When main returns, the harness waits for the program's other
// non-daemon threads, as the JVM itself does before it exits, and only then writes the record:
// System.exit() anywhere before that leaves none, so a program that exits in the middle of its
// tests cannot pass.

import java.io.FileOutputStream;
import java.io.FileInputStream;
import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;

public final class EvolHarness {
    private EvolHarness() {}

    public static void main(String[] args) throws Exception {
        int reportFd = Integer.parseInt(args[0]);
        int nonceFd = Integer.parseInt(args[1]);
        Method main;
        try {
            main = Class.forName("Main").getMethod("main", String[].class);
        } catch (ClassNotFoundException | NoSuchMethodException error) {
            // Nothing to run: the code compiled and has no tests.
            report(reportFd, nonceFd, "PASS", "");
            return;
        } catch (Throwable error) {
            fail(reportFd, nonceFd, error instanceof ExceptionInInitializerError && error.getCause() != null ? error.getCause() : error);
            return;
        }
        try {
            main.invoke(null, (Object) new String[0]);
        } catch (InvocationTargetException error) {
            fail(reportFd, nonceFd, error.getCause() != null ? error.getCause() : error);
            return;
        } catch (Throwable error) {
            fail(reportFd, nonceFd, error);
            return;
        }
        waitForOtherThreads();
        report(reportFd, nonceFd, "PASS", "");
    }

    private static void waitForOtherThreads() throws InterruptedException {
        Thread self = Thread.currentThread();
        boolean waited = true;
        while (waited) {
            waited = false;
            for (Thread thread : Thread.getAllStackTraces().keySet()) {
                if (thread != self && !thread.isDaemon() && thread.isAlive()) {
                    thread.join();
                    waited = true;
                }
            }
        }
    }

    private static void fail(int reportFd, int nonceFd, Throwable error) {
        String verdict = "RUNTIME_ERROR";
        if (error instanceof AssertionError) {
            verdict = "FAIL";
        } else if (error instanceof OutOfMemoryError && !String.valueOf(error.getMessage()).contains("native thread")) {
            // "unable to create native thread" is the process limit, not memory.
            verdict = "MEMORY_LIMIT";
        }
        error.printStackTrace();
        System.err.flush();
        String message = String.valueOf(error);
        report(reportFd, nonceFd, verdict, message.length() > 500 ? message.substring(0, 500) : message);
        Runtime.getRuntime().halt(1);
    }

    private static void report(int reportFd, int nonceFd, String verdict, String message) {
        System.out.flush();
        System.err.flush();
        try (FileInputStream nonceIn = new FileInputStream("/proc/self/fd/" + nonceFd);
             FileOutputStream reportOut = new FileOutputStream("/proc/self/fd/" + reportFd)) {
            byte[] buffer = new byte[64];
            int size = Math.max(0, nonceIn.read(buffer));
            String nonce = new String(buffer, 0, size, StandardCharsets.UTF_8);
            String record = "{\"nonce\": \"" + escape(nonce) + "\", \"verdict\": \"" + verdict
                + "\", \"message\": \"" + escape(message) + "\"}";
            reportOut.write(record.getBytes(StandardCharsets.UTF_8));
        } catch (IOException error) {
            // No record: the supervisor judges the run by how it ended.
        }
    }

    private static String escape(String text) {
        StringBuilder out = new StringBuilder();
        for (char c : text.toCharArray()) {
            if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else if (c < 0x20) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }
}
