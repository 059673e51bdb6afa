package dev.patchcord.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

/**
 * systemd's readiness protocol ({@code sd_notify}): one datagram of {@code KEY=value} lines to the
 * unix socket named by {@code $NOTIFY_SOCKET}, a path or, with a leading {@code @}, a name in the
 * abstract namespace. A service of {@code Type=notify} tells systemd with it that it is ready
 * ({@code READY=1}), or that another process now is the main one ({@code MAINPID=}), which is how a
 * successor started by a restart takes over the unit.
 *
 * <p>Notification is best effort, as in systemd's own library: outside systemd nothing is sent,
 * and a failure is reported as false, never thrown, so it cannot stop the service it describes.
 */
public final class SdNotify {
    private SdNotify() {}

    private static final String VARIABLE = "NOTIFY_SOCKET";

    /**
     * Sends {@code state} (e.g. {@code "READY=1"}, lines separated by {@code \n}) to the socket in
     * {@code $NOTIFY_SOCKET}.
     *
     * @return whether it was sent: false when the variable is unset or the send failed
     */
    public static boolean send(String state) {
        String socket = System.getenv(VARIABLE);
        return socket != null && send(socket, state);
    }

    /** As {@link #send(String)}, to {@code socket} (a path, or {@code @name}). */
    static boolean send(String socket, String state) {
        // systemd also accepts vsock: addresses, for a service manager outside a VM; not these.
        if (socket.isEmpty() || (socket.charAt(0) != '/' && socket.charAt(0) != '@')) {
            return false;
        }
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment sa = tmp.allocate(UnixAddress.SIZE);
            int len = UnixAddress.encode(socket, sa);
            byte[] bytes = state.getBytes(StandardCharsets.UTF_8);
            MemorySegment buf = tmp.allocate(Math.max(bytes.length, 1));
            MemorySegment.copy(bytes, 0, buf, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, bytes.length);
            int fd = Libc.socket(Linux.AF_UNIX, Linux.SOCK_DGRAM | Linux.SOCK_CLOEXEC, 0);
            if (fd < 0) {
                return false;
            }
            try {
                long n;
                do {
                    n = Libc.sendto(fd, buf, bytes.length, Linux.MSG_NOSIGNAL, sa, len);
                } while (n == -Linux.EINTR);
                return n == bytes.length;
            } finally {
                Libc.close(fd);
            }
        } catch (SysException | RuntimeException e) {
            return false;
        }
    }
}
