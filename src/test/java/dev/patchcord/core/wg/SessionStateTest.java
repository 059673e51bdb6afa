package dev.patchcord.core.wg;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.SplittableRandom;

import static dev.patchcord.core.wg.Pair.SECOND;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

/** The layout of {@link SessionState}: what version 1 wrote stays readable, and bad input is refused cleanly. */
class SessionStateTest {
    private static final String GOLDEN = "session-state-v1.hex";
    private static final long NEVER = Long.MIN_VALUE;

    static byte[] bytes(SessionState s) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            s.write(new DataOutputStream(out));
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static SessionState parse(byte[] b) throws IOException {
        return SessionState.read(new DataInputStream(new ByteArrayInputStream(b)));
    }

    /** The golden file: hex, '#' lines are comments. */
    static byte[] golden() throws IOException {
        try (InputStream in = SessionStateTest.class.getResourceAsStream(GOLDEN)) {
            assertThat(in).as(GOLDEN).isNotNull();
            StringBuilder hex = new StringBuilder();
            for (String line : new String(in.readAllBytes(), StandardCharsets.US_ASCII).split("\n")) {
                if (!line.startsWith("#")) {
                    hex.append(line.strip());
                }
            }
            return HexFormat.of().parseHex(hex);
        }
    }

    private static byte[] run(int from, int count) {
        byte[] b = new byte[count];
        for (int i = 0; i < count; i++) {
            b[i] = (byte) (from + i);
        }
        return b;
    }

    /** The state the golden file was written from (kept to show how it was made; the test reads literals). */
    static SessionState goldenState() {
        SessionState s = new SessionState();
        s.publicKey = run(0x01, 32);
        SessionState.Session current = new SessionState.Session();
        current.slot = SessionState.CURRENT;
        current.sendKey = run(0x40, 32);
        current.receiveKey = run(0x60, 32);
        current.sendCounter = 1000;
        current.replayLast = 999;
        current.replayRing[15] = 0xFF00FF00FF00FF00L;
        current.replayRing[127] = 1;
        current.localIndex = 0x11223344;
        current.remoteIndex = 0xAABBCCDD;
        current.age = 30 * SECOND;
        current.initiator = true;
        s.sessions.add(current);
        SessionState.Session previous = new SessionState.Session();
        previous.slot = SessionState.PREVIOUS;
        previous.sendKey = run(0x80, 32);
        previous.receiveKey = run(0xA0, 32);
        previous.sendCounter = 7;
        previous.replayLast = 5;
        previous.replayRing[0] = 0x3F;
        previous.localIndex = 0x01020304;
        previous.remoteIndex = 0x05060708;
        previous.age = 150 * SECOND;
        previous.rekeyRequested = true;
        s.sessions.add(previous);
        s.lastSent = SECOND;
        s.lastReceived = 2 * SECOND;
        s.dataSentUnanswered = NEVER;
        s.dataReceivedUnanswered = 3 * SECOND;
        s.sessionDerived = 30 * SECOND;
        s.lastInitiation = 31 * SECOND;
        s.attempts = 2;
        s.unanswered = 3;
        s.jitter = 123_000_000;
        s.lastMinuteHandshakeSent = true;
        s.wantKeepalive = true;
        s.lastTimestamp = Tai64n.of(1_700_000_000L, 500_000_000);
        s.lastInitiationConsumed = 150 * SECOND;
        s.rxBytes = 1234;
        s.txBytes = 5678;
        s.rxPackets = 12;
        s.txPackets = 34;
        s.lastHandshakeEpochNanos = Pair.EPOCH;
        s.staged.add(run(0x45, 20));
        s.staged.add(new byte[0]);
        return s;
    }

    @Test
    void version1IsReadFieldByField() throws IOException {
        byte[] file = golden();
        SessionState s = parse(file);
        assertThat(s.publicKey()).isEqualTo(run(0x01, 32));
        assertThat(s.sessions).hasSize(2);

        SessionState.Session c = s.sessions.get(0);
        assertThat(c.slot).isEqualTo(SessionState.CURRENT);
        assertThat(c.sendKey).isEqualTo(run(0x40, 32));
        assertThat(c.receiveKey).isEqualTo(run(0x60, 32));
        assertThat(c.sendCounter).isEqualTo(1000);
        assertThat(c.replayLast).isEqualTo(999);
        long[] ring = new long[ReplayWindow.RING_LENGTH];
        ring[15] = 0xFF00FF00FF00FF00L;
        ring[127] = 1;
        assertThat(c.replayRing).isEqualTo(ring);
        assertThat(c.localIndex).isEqualTo(0x11223344);
        assertThat(c.remoteIndex).isEqualTo(0xAABBCCDD);
        assertThat(c.age).isEqualTo(30 * SECOND);
        assertThat(c.initiator).isTrue();
        assertThat(c.rekeyRequested).isFalse();

        SessionState.Session p = s.sessions.get(1);
        assertThat(p.slot).isEqualTo(SessionState.PREVIOUS);
        assertThat(p.sendKey).isEqualTo(run(0x80, 32));
        assertThat(p.receiveKey).isEqualTo(run(0xA0, 32));
        assertThat(p.sendCounter).isEqualTo(7);
        assertThat(p.replayLast).isEqualTo(5);
        ring = new long[ReplayWindow.RING_LENGTH];
        ring[0] = 0x3F;
        assertThat(p.replayRing).isEqualTo(ring);
        assertThat(p.localIndex).isEqualTo(0x01020304);
        assertThat(p.remoteIndex).isEqualTo(0x05060708);
        assertThat(p.age).isEqualTo(150 * SECOND);
        assertThat(p.initiator).isFalse();
        assertThat(p.rekeyRequested).isTrue();

        assertThat(s.lastSent).isEqualTo(SECOND);
        assertThat(s.lastReceived).isEqualTo(2 * SECOND);
        assertThat(s.dataSentUnanswered).isEqualTo(NEVER);
        assertThat(s.dataReceivedUnanswered).isEqualTo(3 * SECOND);
        assertThat(s.sessionDerived).isEqualTo(30 * SECOND);
        assertThat(s.lastInitiation).isEqualTo(31 * SECOND);
        assertThat(s.attempts).isEqualTo(2);
        assertThat(s.unanswered).isEqualTo(3);
        assertThat(s.jitter).isEqualTo(123_000_000);
        assertThat(s.handshakeInProgress).isFalse();
        assertThat(s.lastMinuteHandshakeSent).isTrue();
        assertThat(s.wantInitiation).isFalse();
        assertThat(s.initiationRetry).isFalse();
        assertThat(s.wantKeepalive).isTrue();
        assertThat(s.lastTimestamp).isEqualTo(Tai64n.of(1_700_000_000L, 500_000_000));
        assertThat(s.lastInitiationConsumed).isEqualTo(150 * SECOND);
        assertThat(s.rxBytes).isEqualTo(1234);
        assertThat(s.txBytes).isEqualTo(5678);
        assertThat(s.rxPackets).isEqualTo(12);
        assertThat(s.txPackets).isEqualTo(34);
        assertThat(s.lastHandshakeEpochNanos).isEqualTo(1_700_000_000L * SECOND);
        assertThat(s.staged).hasSize(2);
        assertThat(s.staged.get(0)).isEqualTo(run(0x45, 20));
        assertThat(s.staged.get(1)).isEmpty();
    }

    @Test
    void version1IsStillWhatThisBuildWrites() throws IOException {
        // Fails when the layout changes: then VERSION goes up, and a new golden file joins this one.
        assertThat(bytes(goldenState())).isEqualTo(golden());
        assertThat(SessionState.VERSION).isEqualTo(1);
    }

    @Test
    void everyTruncationIsAnIOException() throws IOException {
        byte[] full = golden();
        for (int n = 0; n < full.length; n++) {
            byte[] cut = Arrays.copyOf(full, n);
            Throwable t = catchThrowable(() -> parse(cut));
            assertThat(t).as("cut to %d bytes", n).isInstanceOf(IOException.class);
        }
    }

    /** Offsets in the golden file (two keypairs). */
    private static final int SESSION_SIZE = 1 + 32 + 32 + 8 + 8 + 128 * 8 + 4 + 4 + 8 + 1;
    private static final int AFTER_SESSIONS = 2 + 32 + 1 + 2 * SESSION_SIZE;
    private static final int TIMERS_SIZE = 6 * 8 + 4 + 4 + 8 + 1;
    private static final int STAGED = AFTER_SESSIONS + TIMERS_SIZE + 12 + 8 + 5 * 8;

    private static byte[] patched(int offset, byte... values) throws IOException {
        byte[] b = golden();
        System.arraycopy(values, 0, b, offset, values.length);
        return b;
    }

    @Test
    void hugeOrImpossibleFieldsAreRefusedWithoutAllocating() throws IOException {
        assertThat(golden()).hasSize(STAGED + 2 + 4 + 20 + 4);
        assertRefused(patched(STAGED + 2, (byte) 0x7F, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF), "staged packet of 2147483647 bytes");
        assertRefused(patched(STAGED + 2, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF), "staged packet of 4294967295 bytes");
        assertRefused(patched(STAGED, (byte) 0xFF, (byte) 0xFF), "65535 staged packets");
        assertRefused(patched(34, (byte) 200), "200 keypairs");
        assertRefused(patched(0, (byte) 0, (byte) 2), "version 2");
        assertRefused(patched(0, (byte) 0, (byte) 0), "version 0");
        assertRefused(patched(35, (byte) 3), "slot 3");
        assertRefused(patched(35 + SESSION_SIZE, (byte) 0), "slot 0 out of order");
        assertRefused(patched(35 + SESSION_SIZE - 1, (byte) 0x04), "keypair flags 0x4");
        assertRefused(patched(AFTER_SESSIONS + TIMERS_SIZE - 1, (byte) 0x80), "timer flags 0x80");
        assertRefused(patched(AFTER_SESSIONS + 48, (byte) 0x80), "impossible timers");
        assertRefused(patched(AFTER_SESSIONS + 56, (byte) 0x7F), "impossible timers");
    }

    private static void assertRefused(byte[] input, String why) {
        assertThatThrownBy(() -> parse(input)).isInstanceOf(IOException.class).hasMessageContaining(why.split(" out")[0]);
    }

    @Property(tries = 300)
    void garbageIsAnIOExceptionOrAState(@ForAll byte[] garbage, @ForAll boolean versioned) {
        byte[] input = garbage;
        if (versioned) {
            // Past the version check, so that the rest of the reader sees garbage too.
            input = ByteBuffer.allocate(2 + garbage.length).putShort((short) 1).put(garbage).array();
        }
        byte[] in = input;
        Throwable t = catchThrowable(() -> parse(in));
        assertThat(t == null || t instanceof IOException).as(String.valueOf(t)).isTrue();
    }

    /** A state of random values within the layout's bounds. */
    static SessionState random(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        SessionState s = new SessionState();
        r.nextBytes(s.publicKey);
        for (int slot = 0; slot < SessionState.SLOTS; slot++) {
            if (r.nextBoolean()) {
                SessionState.Session x = new SessionState.Session();
                x.slot = slot;
                r.nextBytes(x.sendKey);
                r.nextBytes(x.receiveKey);
                x.sendCounter = r.nextLong();
                x.replayLast = r.nextLong();
                for (int i = 0; i < x.replayRing.length; i++) {
                    x.replayRing[i] = r.nextLong();
                }
                x.localIndex = r.nextInt();
                x.remoteIndex = r.nextInt();
                x.age = r.nextLong();
                x.initiator = r.nextBoolean();
                x.rekeyRequested = r.nextBoolean();
                s.sessions.add(x);
            }
        }
        s.lastSent = r.nextBoolean() ? NEVER : r.nextLong();
        s.lastReceived = r.nextLong();
        s.dataSentUnanswered = r.nextLong();
        s.dataReceivedUnanswered = r.nextLong();
        s.sessionDerived = r.nextLong();
        s.lastInitiation = r.nextLong();
        s.attempts = r.nextInt(Integer.MAX_VALUE);
        s.unanswered = r.nextInt(Integer.MAX_VALUE);
        s.jitter = r.nextLong(Protocol.REKEY_TIMEOUT_JITTER_MAX + 1);
        s.handshakeInProgress = r.nextBoolean();
        s.lastMinuteHandshakeSent = r.nextBoolean();
        s.wantInitiation = r.nextBoolean();
        s.initiationRetry = r.nextBoolean();
        s.wantKeepalive = r.nextBoolean();
        r.nextBytes(s.lastTimestamp);
        s.lastInitiationConsumed = r.nextLong();
        s.rxBytes = r.nextLong();
        s.txBytes = r.nextLong();
        s.rxPackets = r.nextLong();
        s.txPackets = r.nextLong();
        s.lastHandshakeEpochNanos = r.nextLong();
        int packets = r.nextInt(Protocol.MAX_STAGED_PACKETS + 1);
        for (int i = 0; i < packets; i++) {
            byte[] p = new byte[r.nextInt(r.nextBoolean() ? 100 : 2000)];
            r.nextBytes(p);
            s.staged.add(p);
        }
        return s;
    }

    @Property(tries = 100)
    void whatIsWrittenIsReadBack(@ForAll long seed) throws IOException {
        byte[] first = bytes(random(seed));
        SessionState back = parse(first);
        assertThat(bytes(back)).isEqualTo(first);
        assertThat(bytes(back.copy())).isEqualTo(first);
        assertThat(bytes(back.olderBy(0))).isEqualTo(first);
    }

    @Test
    void olderByAgesEveryTimeButNever() throws IOException {
        SessionState s = parse(golden()).olderBy(SECOND);
        assertThat(s.sessions.get(0).age).isEqualTo(31 * SECOND);
        assertThat(s.sessions.get(1).age).isEqualTo(151 * SECOND);
        assertThat(s.lastSent).isEqualTo(2 * SECOND);
        assertThat(s.dataSentUnanswered).isEqualTo(NEVER);
        assertThat(s.lastInitiationConsumed).isEqualTo(151 * SECOND);
        assertThat(s.lastHandshakeEpochNanos).as("a wall-clock time, not an age").isEqualTo(Pair.EPOCH);
    }

    @Test
    void wipeZeroesKeysAndPacketsAndLeavesTheCopiesAlone() throws IOException {
        SessionState s = parse(golden());
        SessionState copy = s.copy();
        assertThat(s.isWiped()).isFalse();
        s.wipe();
        assertThat(s.isWiped()).isTrue();
        assertThat(Keys.isZero(s.sessions.get(0).sendKey)).isTrue();
        assertThat(Keys.isZero(s.staged.get(0))).isTrue();
        assertThat(copy.isWiped()).isFalse();
    }

    @Test
    void aCutInputIsReportedAsCutShort() throws IOException {
        // Cut inside the staged packets: both keypairs were read by then (and wiped by the reader).
        byte[] cut = Arrays.copyOf(golden(), STAGED + 8);
        assertThatThrownBy(() -> parse(cut)).isInstanceOf(IOException.class).hasMessageContaining("cut short");
    }
}
