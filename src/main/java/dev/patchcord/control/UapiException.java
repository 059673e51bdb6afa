package dev.patchcord.control;

/**
 * A UAPI request that failed, with the errno the reply carries. The number is kept positive here,
 * as in {@code errno.h}; {@link UapiProtocol#formatErrno(int)} writes it negated
 * ({@code errno=-22}), because that is what wireguard-go sends and what {@code wg set} turns back
 * into "Invalid argument".
 *
 * <p>The message is for patchcord's log only: {@code wg} sees nothing but the number, so the
 * message must say what was wrong without the request at hand. Key material is never put into it.
 */
public final class UapiException extends Exception {
    /** The device has no such thing (e.g. a peer an update asked for). */
    public static final int ENOENT = 2;
    /** Reading or writing failed, or the device failed in a way it did not classify. */
    public static final int EIO = 5;
    /** A value is malformed or out of range, or a key is unknown: wireguard-go's choice for all of these. */
    public static final int EINVAL = 22;
    /** A line is not {@code key=value}: wireguard-go's answer to a line without '='. */
    public static final int EPROTO = 71;
    /** A request or a line longer than the server accepts. */
    public static final int EMSGSIZE = 90;
    /** The listen port (or fwmark) could not be applied to the socket. */
    public static final int EADDRINUSE = 98;

    private final int errno;

    /**
     * @param errno a positive value from {@code errno.h}
     * @param message what went wrong, for the log
     */
    public UapiException(int errno, String message) {
        super(printable(message));
        if (errno <= 0) {
            throw new IllegalArgumentException("errno must be positive, not " + errno);
        }
        this.errno = errno;
    }

    public UapiException(int errno, String message, Throwable cause) {
        this(errno, message);
        initCause(cause);
    }

    /** The positive errno value. */
    public int errno() {
        return errno;
    }

    /**
     * Control characters show as '?': a message may quote part of a request line, and a log
     * must not be garbled (or forged) by what a client sent.
     */
    private static String printable(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        s.codePoints().forEach(c -> sb.appendCodePoint(Character.isISOControl(c) ? '?' : c));
        return sb.toString();
    }
}
