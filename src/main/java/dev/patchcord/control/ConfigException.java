package dev.patchcord.control;

import java.util.Objects;

/**
 * A configuration file that cannot be used, with the place to fix it, in the form compilers use so
 * that editors can jump there: {@code wg0.conf:7: PersistentKeepalive 'soon' is not a number of
 * seconds (1-65535) or 'off'}. A problem of the file as a whole has no line number:
 * {@code wg0.conf: [Interface] section is missing}.
 *
 * <p>Control characters in the message are shown as '?', so that a binary file or an escape
 * sequence in a value cannot garble the terminal the message is printed on.
 */
public final class ConfigException extends Exception {
    private final String source;
    private final int line;
    private final String problem;

    /**
     * @param source the file name as the user gave it
     * @param line 1-based line number, or 0 when the problem is not on one line
     * @param problem what is wrong, without the place
     */
    public ConfigException(String source, int line, String problem) {
        super(place(source, line) + " " + printable(problem));
        this.source = Objects.requireNonNull(source, "source");
        this.line = line;
        this.problem = printable(problem);
    }

    /** The file name as the user gave it (or the name passed with the text). */
    public String source() {
        return source;
    }

    /** The 1-based line number, or 0 when the problem concerns the whole file. */
    public int line() {
        return line;
    }

    /** What is wrong, without the {@code FILE:LINE:} prefix. */
    public String problem() {
        return problem;
    }

    private static String place(String source, int line) {
        return line > 0 ? source + ":" + line + ":" : source + ":";
    }

    private static String printable(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        s.codePoints().forEach(c -> sb.appendCodePoint(Character.isISOControl(c) ? '?' : c));
        return sb.toString();
    }
}
