package dev.patchcord.sys;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * {@code struct sockaddr_un}: a unix socket's address, a file system path or a name in the
 * abstract namespace (written {@code @name}, as systemd and {@code ss} show it).
 */
final class UnixAddress {
    private UnixAddress() {}

    /** {@code sizeof(struct sockaddr_un)}: the family, then {@code sun_path[108]}. */
    static final int SIZE = 110;
    private static final int PATH_OFFSET = 2;
    private static final int PATH_CAPACITY = SIZE - PATH_OFFSET;

    /**
     * Writes {@code name} into {@code sa} ({@link #SIZE} bytes, zeroed by the caller).
     *
     * @return the address length to pass to bind, connect or sendto: an abstract name is exactly
     *     its bytes (a NUL after it would be part of the name), a path is NUL-terminated
     */
    static int encode(String name, MemorySegment sa) throws SysException {
        boolean abstractName = name.startsWith("@");
        byte[] bytes = (abstractName ? name.substring(1) : name).getBytes(StandardCharsets.UTF_8);
        // Both forms need one byte more than the name: the leading NUL of an abstract name, the
        // terminating NUL of a path.
        if (bytes.length + 1 > PATH_CAPACITY) {
            throw new SysException("unix socket address too long (" + bytes.length + " bytes, at most "
                    + (PATH_CAPACITY - 1) + "): " + name, Linux.ENAMETOOLONG);
        }
        if (bytes.length == 0) {
            throw new SysException("empty unix socket address", Linux.EINVAL);
        }
        sa.set(JAVA_SHORT, 0, (short) Linux.AF_UNIX);
        long at = PATH_OFFSET + (abstractName ? 1 : 0);
        MemorySegment.copy(bytes, 0, sa, JAVA_BYTE, at, bytes.length);
        return PATH_OFFSET + 1 + bytes.length;
    }
}
