package dev.patchcord.sys;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.UUID;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The notify protocol against a datagram socket this test binds, as systemd would (no root needed). */
@Timeout(30)
class SdNotifyTest {
    @TempDir
    Path dir;

    private static final String STATE = "MAINPID=123\nREADY=1";

    /** A bound unix datagram socket standing in for systemd's notify socket. */
    private static final class Listener implements AutoCloseable {
        final int fd;
        final Arena arena = Arena.ofConfined();

        Listener(String address) throws SysException {
            fd = (int) SysException.check(
                    Libc.socket(Linux.AF_UNIX, Linux.SOCK_DGRAM | Linux.SOCK_CLOEXEC, 0), "socket");
            MemorySegment sa = arena.allocate(UnixAddress.SIZE);
            int len = UnixAddress.encode(address, sa);
            SysException.check(Libc.bind(fd, sa, len), "bind " + address);
        }

        /** The next datagram, waiting up to 5 s. */
        String receive() throws SysException {
            MemorySegment pollfd = arena.allocate(Libc.POLLFD);
            pollfd.set(JAVA_INT, 0, fd);
            pollfd.set(JAVA_SHORT, 4, Linux.POLLIN);
            assertThat(Libc.poll(pollfd, 1, 5_000)).as("a datagram within 5 s").isEqualTo(1);
            MemorySegment buf = arena.allocate(4096);
            long n = SysException.check(Libc.recvfrom(fd, buf, buf.byteSize(), Linux.MSG_DONTWAIT,
                    MemorySegment.NULL, MemorySegment.NULL), "recvfrom");
            return new String(buf.asSlice(0, n).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
        }

        @Override
        public void close() {
            Libc.close(fd);
            arena.close();
        }
    }

    @Test
    void aStateArrivesVerbatimAtAPath() throws Exception {
        String path = dir.resolve("notify").toString();
        try (Listener systemd = new Listener(path)) {
            assertThat(SdNotify.send(path, STATE)).isTrue();
            assertThat(systemd.receive()).isEqualTo(STATE);
        }
    }

    @Test
    void aStateArrivesVerbatimAtAnAbstractName() throws Exception {
        String name = "@patchcord-notify-test-" + UUID.randomUUID();
        try (Listener systemd = new Listener(name)) {
            assertThat(SdNotify.send(name, STATE)).isTrue();
            assertThat(systemd.receive()).isEqualTo(STATE);
            assertThat(SdNotify.send(name, "STOPPING=1")).isTrue();
            assertThat(systemd.receive()).isEqualTo("STOPPING=1");
        }
    }

    @Test
    void failuresAreFalseNeverExceptions() {
        assertThat(SdNotify.send(dir.resolve("nobody-listens").toString(), STATE)).isFalse();
        assertThat(SdNotify.send("@patchcord-nobody-" + UUID.randomUUID(), STATE)).isFalse();
        assertThat(SdNotify.send("relative/path", STATE)).isFalse();
        assertThat(SdNotify.send("", STATE)).isFalse();
        assertThat(SdNotify.send("/" + "x".repeat(200), STATE)).isFalse();
    }

    @Test
    void withoutTheVariableNothingIsSent() {
        assumeTrue(System.getenv("NOTIFY_SOCKET") == null, "runs under a service manager");
        assertThat(SdNotify.send("READY=1")).isFalse();
    }
}
