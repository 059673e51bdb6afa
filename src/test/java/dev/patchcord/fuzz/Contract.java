package dev.patchcord.fuzz;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/** What every harness here checks of a parser's refusal, and a way to reach package-private parsers. */
final class Contract {
    private Contract() {}

    /**
     * Runs {@code parse}; a refusal must be of {@code expected}, the parser's own exception type,
     * with a one-line printable message. Anything else thrown (an IndexOutOfBounds, a
     * NumberFormatException, a NullPointerException) escapes and fails the fuzz test.
     *
     * @return the parser's result, or null if it refused the input
     */
    static <T> T parseOrRefuse(Class<? extends Exception> expected, Parse<T> parse) {
        try {
            return parse.run();
        } catch (Exception e) {
            if (!expected.isInstance(e)) {
                throw new AssertionError("unexpected " + e.getClass().getName() + ": " + e.getMessage(), e);
            }
            assertPrintable(e.getMessage());
            return null;
        }
    }

    interface Parse<T> {
        T run() throws Exception;
    }

    /** An error text is for a log line or a terminal: present, one line, no control characters. */
    static void assertPrintable(String message) {
        assertThat(message).isNotBlank();
        assertThat(message.codePoints().noneMatch(Character::isISOControl))
                .as("control characters in %s", message.replaceAll("\\p{Cntrl}", "^")).isTrue();
    }

    static String utf8(byte[] bytes) {
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /** A package-private static or instance method of a production class, made callable. */
    static Method method(String className, String name, Class<?>... parameters) {
        try {
            Method m = Class.forName(className).getDeclaredMethod(name, parameters);
            m.setAccessible(true);
            return m;
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Calls {@code m}; what the method throws is thrown as it is, not wrapped. */
    static Object call(Method m, Object target, Object... args) throws Exception {
        try {
            return m.invoke(target, args);
        } catch (InvocationTargetException e) {
            Throwable cause = e.getCause();
            if (cause instanceof Exception x) {
                throw x;
            }
            throw (Error) cause;
        }
    }
}
