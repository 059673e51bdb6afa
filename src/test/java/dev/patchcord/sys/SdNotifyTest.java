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

    @Test
    void aStateArrivesVerbatimAtAPath() throws Exception {
        String path = dir.resolve("notify").toString();
        try (NotifyListener systemd = new NotifyListener(path)) {
            assertThat(SdNotify.send(path, STATE)).isTrue();
            assertThat(systemd.receive()).isEqualTo(STATE);
        }
    }

    @Test
    void aStateArrivesVerbatimAtAnAbstractName() throws Exception {
        String name = "@patchcord-notify-test-" + UUID.randomUUID();
        try (NotifyListener systemd = new NotifyListener(name)) {
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
