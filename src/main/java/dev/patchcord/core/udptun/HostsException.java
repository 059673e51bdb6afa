package dev.patchcord.core.udptun;

/** A hosts table that cannot be loaded; the message is one line and names the offending key. */
public final class HostsException extends Exception {
    /**
     * Control characters show as '?': the message quotes the file (which may come from a URL), and
     * a quoted NUL, escape sequence or line break must not garble or forge the log it is printed to.
     */
    public HostsException(String message) {
        super(message.codePoints().map(c -> Character.isISOControl(c) ? '?' : c)
                .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString());
    }
}
