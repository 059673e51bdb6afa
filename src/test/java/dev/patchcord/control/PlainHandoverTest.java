package dev.patchcord.control;

import dev.patchcord.control.handover.HandoverSnapshot;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PlainHandoverTest {

    private static HandoverSnapshot snapshot(String config) throws IOException {
        HandoverSnapshot s = new HandoverSnapshot(0, 1, "tp0", HandoverSnapshot.Kind.PLAIN, 0,
                List.of(HandoverSnapshot.Role.TUN, HandoverSnapshot.Role.UDP), List.of(),
                config.getBytes(StandardCharsets.UTF_8), List.of(), List.of());
        return HandoverSnapshot.fromBytes(s.toBytes()); // through the wire format, as a successor reads it
    }

    @Test
    void aLearnedPeerRoundTripsOverIpv4AndIpv6() throws IOException {
        for (InetSocketAddress a : List.of(new InetSocketAddress(InetAddress.ofLiteral("198.18.0.2"), 1234),
                new InetSocketAddress(InetAddress.ofLiteral("fd00:5c::2"), 65535))) {
            assertThat(PlainHandover.learnedPeer(snapshot(PlainHandover.endpointLine(a)))).isEqualTo(a);
        }
    }

    @Test
    void noPeerIsNull() throws IOException {
        assertThat(PlainHandover.learnedPeer(snapshot(""))).isNull();
    }

    @Test
    void anythingElseIsRefusedWithAReason() {
        assertThatThrownBy(() -> PlainHandover.learnedPeer(snapshot("private_key=00\n")))
                .hasMessageContaining("not an endpoint= line");
        assertThatThrownBy(() -> PlainHandover.learnedPeer(snapshot("endpoint=example.com:1")))
                .hasMessageContaining("not an address");
        assertThatThrownBy(() -> PlainHandover.learnedPeer(snapshot("endpoint=1.2.3.4:0")))
                .hasMessageContaining("out of range");
    }
}
