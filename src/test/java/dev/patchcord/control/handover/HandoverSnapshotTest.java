package dev.patchcord.control.handover;

import dev.patchcord.control.handover.HandoverSnapshot.Kind;
import dev.patchcord.control.handover.HandoverSnapshot.Role;
import dev.patchcord.control.handover.HandoverSnapshot.TcpLink;
import dev.patchcord.core.wg.SessionState;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The hand-over snapshot's layout: a golden version-1 snapshot is read field by field (a later
 * version must keep reading it), every field round-trips, and a newer version, a cut snapshot or
 * garbage is refused with a clear {@link IOException}, never another exception.
 */
class HandoverSnapshotTest {
    private static final String GOLDEN = "handover-snapshot-v1.hex";
    private static final String CONFIG = "private_key=" + "11".repeat(32) + "\nfwmark=0\npublic_key=" + "22".repeat(32)
            + "\npreshared_key=" + "0".repeat(64) + "\nendpoint=198.18.0.2:51820\npersistent_keepalive_interval=0\n"
            + "replace_allowed_ips=true\nallowed_ip=10.60.0.2/32\n";

    /** A session state from the core's own golden file (fixed keys and values). */
    private static SessionState session() throws IOException {
        byte[] hex = resource("/dev/patchcord/core/wg/session-state-v1.hex");
        return SessionState.read(new DataInputStream(new ByteArrayInputStream(hex)));
    }

    private static byte[] resource(String name) throws IOException {
        try (InputStream in = HandoverSnapshotTest.class.getResourceAsStream(name)) {
            assertThat(in).as(name).isNotNull();
            StringBuilder hex = new StringBuilder();
            for (String line : new String(in.readAllBytes(), StandardCharsets.US_ASCII).split("\n")) {
                if (!line.startsWith("#")) {
                    hex.append(line.strip());
                }
            }
            return HexFormat.of().parseHex(hex);
        }
    }

    /** The snapshot the golden file holds. */
    private static HandoverSnapshot sample() throws IOException {
        byte[] peer = new byte[32];
        Arrays.fill(peer, (byte) 0x22);
        return new HandoverSnapshot(2, 1_796_000_000_000L, "wg0", Kind.WIREGUARD_TUN, 0x1f,
                List.of(Role.TUN, Role.UDP, Role.TCP_LISTENER, Role.TCP_LINK, Role.TCP_LINK),
                List.of(new TcpLink(peer, true, true, "198.18.0.2:51820", new byte[] {0, 32, 4, 0}, new byte[] {7},
                                3_000_000_000L, 40_000_000L),
                        new TcpLink(null, false, false, "[fd00:5c::2]:40000", new byte[0], new byte[0], 5L, Long.MIN_VALUE)),
                CONFIG.getBytes(StandardCharsets.UTF_8), List.of(session()),
                List.of(new HandoverSnapshot.Station(0x02_00_5e_10_20_30L, peer, 1_500_000_000L)));
    }

    /** Writes the golden file again: {@code -Dpatchcord.golden=DIR} (only when the layout changes, with a new version). */
    @Test
    void goldenFileIsReadFieldByField() throws IOException {
        String dir = System.getProperty("patchcord.golden");
        if (dir != null) {
            StringBuilder out = new StringBuilder("""
                    # A hand-over snapshot (HandoverSnapshot) written by layout version 1, from fixed test values:
                    # five descriptors (TUN, UDP, TCP listener, two TCP connections), a UAPI configuration, one
                    # peer's sessions (the core's session-state-v1) and one learned station. Later versions must keep
                    # reading it. Hex, 32 bytes a line.
                    """);
            String hex = HexFormat.of().formatHex(sample().toBytes());
            for (int i = 0; i < hex.length(); i += 64) {
                out.append(hex, i, Math.min(hex.length(), i + 64)).append('\n');
            }
            java.nio.file.Files.writeString(java.nio.file.Path.of(dir, GOLDEN), out);
        }
        HandoverSnapshot s = HandoverSnapshot.fromBytes(resource(GOLDEN));
        assertThat(s.handovers()).isEqualTo(2);
        assertThat(s.firstStartEpochMillis()).isEqualTo(1_796_000_000_000L);
        assertThat(s.ifname()).isEqualTo("wg0");
        assertThat(s.kind()).isEqualTo(Kind.WIREGUARD_TUN);
        assertThat(s.deviceOffloads()).isEqualTo(0x1f);
        assertThat(s.roles()).containsExactly(Role.TUN, Role.UDP, Role.TCP_LISTENER, Role.TCP_LINK, Role.TCP_LINK);
        assertThat(s.count(Role.TCP_LINK)).isEqualTo(2);
        TcpLink first = s.tcpLinks().get(0);
        assertThat(first.peerKey()).containsOnly((byte) 0x22).hasSize(32);
        assertThat(first.dialled()).isTrue();
        assertThat(first.attached()).isTrue();
        assertThat(first.remote()).isEqualTo("198.18.0.2:51820");
        assertThat(first.unread()).containsExactly(0, 32, 4, 0);
        assertThat(first.unsent()).containsExactly(7);
        assertThat(first.ageNanos()).isEqualTo(3_000_000_000L);
        assertThat(first.quietNanos()).isEqualTo(40_000_000L);
        TcpLink second = s.tcpLinks().get(1);
        assertThat(second.peerKey()).isNull();
        assertThat(second.dialled()).isFalse();
        assertThat(second.attached()).isFalse();
        assertThat(second.remote()).isEqualTo("[fd00:5c::2]:40000");
        assertThat(second.unread()).isEmpty();
        assertThat(second.unsent()).isEmpty();
        assertThat(second.quietNanos()).isEqualTo(Long.MIN_VALUE);
        assertThat(new String(s.uapiConfig(), StandardCharsets.UTF_8)).isEqualTo(CONFIG);
        assertThat(s.sessions()).hasSize(1);
        assertThat(bytes(s.sessions().getFirst())).isEqualTo(bytes(session()));
        assertThat(s.stations()).hasSize(1);
        assertThat(s.stations().getFirst().mac()).isEqualTo(0x02_00_5e_10_20_30L);
        assertThat(s.stations().getFirst().peerKey()).containsOnly((byte) 0x22).hasSize(32);
        assertThat(s.stations().getFirst().ageNanos()).isEqualTo(1_500_000_000L);
    }

    private static byte[] bytes(SessionState state) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        state.write(new DataOutputStream(out));
        return out.toByteArray();
    }

    @Test
    void everyFieldRoundTrips() throws IOException {
        byte[] written = sample().toBytes();
        assertThat(HandoverSnapshot.fromBytes(written).toBytes()).isEqualTo(written);
        HandoverSnapshot plain = new HandoverSnapshot(0, 5, "tv0", Kind.PLAIN, 0, List.of(Role.TUN, Role.UDP), List.of(),
                new byte[0], List.of(), List.of());
        assertThat(HandoverSnapshot.fromBytes(plain.toBytes())).usingRecursiveComparison().isEqualTo(plain);
    }

    @Test
    void aNewerVersionIsRefusedWithAClearMessage() throws IOException {
        byte[] b = sample().toBytes();
        b[4] = 0;
        b[5] = (byte) (HandoverSnapshot.VERSION + 1);
        assertThatThrownBy(() -> HandoverSnapshot.fromBytes(b)).isInstanceOf(IOException.class)
                .hasMessageContaining("version " + (HandoverSnapshot.VERSION + 1))
                .hasMessageContaining("the running process stays");
    }

    @Test
    void aSnapshotCutAnywhereIsRefused() throws IOException {
        byte[] b = sample().toBytes();
        for (int n = 0; n < b.length; n++) {
            byte[] cut = Arrays.copyOf(b, n);
            assertThatThrownBy(() -> HandoverSnapshot.fromBytes(cut)).as("cut at " + n).isInstanceOf(IOException.class);
        }
        byte[] longer = Arrays.copyOf(b, b.length + 1);
        assertThatThrownBy(() -> HandoverSnapshot.fromBytes(longer)).isInstanceOf(IOException.class)
                .hasMessageContaining("after its end");
    }

    @Test
    void garbageIsRefusedNeverCrashes() {
        Random random = new Random(19);
        for (int i = 0; i < 2_000; i++) {
            byte[] junk = new byte[random.nextInt(600)];
            random.nextBytes(junk);
            if (junk.length >= 6 && random.nextBoolean()) {
                junk[0] = 'P'; junk[1] = 'C'; junk[2] = 'H'; junk[3] = 'O'; junk[4] = 0; junk[5] = 1;
            }
            assertThatThrownBy(() -> HandoverSnapshot.fromBytes(junk)).isInstanceOf(IOException.class);
        }
    }

    @Test
    void descriptorsAndConnectionsMustAgree() {
        assertThatThrownBy(() -> new HandoverSnapshot(0, 0, "wg0", Kind.WIREGUARD_TUN, 0, List.of(Role.TCP_LINK), List.of(),
                new byte[0], List.of(), List.of())).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void wipeZeroesTheKeysItHolds() throws IOException {
        HandoverSnapshot s = sample();
        s.wipe();
        assertThat(s.uapiConfig()).containsOnly(0);
        assertThat(bytes(s.sessions().getFirst())).as("the session's keys")
                .isNotEqualTo(bytes(session()));
    }
}
