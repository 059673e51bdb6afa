package dev.patchcord.device;

import dev.patchcord.transport.Endpoint;
import dev.patchcord.transport.SockAddr;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;

import static org.assertj.core.api.Assertions.assertThat;

/** A peer's endpoint with the local address it last reached us at (the sticky source). */
class PeerAddressTest {
    private final Arena arena = Arena.ofAuto();

    private static InetAddress ip(String s) throws Exception {
        return InetAddress.getByName(s);
    }

    /** What a receive fills in: the sender, and the local address it sent to (null: none). */
    private MemorySegment received(String from, int port, String to) throws Exception {
        MemorySegment e = arena.allocate(Endpoint.SIZE, 8);
        SockAddr.encode(new InetSocketAddress(ip(from), port), e.asSlice(0, SockAddr.SIZE));
        if (to != null) {
            Endpoint.setSource(e, ip(to));
        }
        return e;
    }

    @Test
    void theSourceFollowsTheAddressThePeerLastSentTo() throws Exception {
        PeerAddress a = new PeerAddress(new InetSocketAddress(ip("10.0.0.9"), 51820), true);
        assertThat(a.source()).as("configured: routing picks").isNull();

        assertThat(a.observe(received("10.0.0.9", 51820, "10.0.0.2"))).isTrue();
        assertThat(a.source()).isEqualTo(ip("10.0.0.2"));
        assertThat(a.observe(received("10.0.0.9", 51820, "10.0.0.2"))).as("nothing new").isFalse();

        assertThat(a.observe(received("10.0.0.9", 51820, "10.0.0.1"))).as("only the local address changed").isTrue();
        assertThat(a.source()).isEqualTo(ip("10.0.0.1"));
        assertThat(a.describe()).isEqualTo(new InetSocketAddress(ip("10.0.0.9"), 51820));

        assertThat(a.observe(received("fd00::9", 4000, "fd00::1"))).isTrue();
        assertThat(a.describe()).isEqualTo(new InetSocketAddress(ip("fd00::9"), 4000));
        assertThat(a.source()).isEqualTo(ip("fd00::1"));
    }

    @Test
    void aRefusedSourceIsForgottenUnlessTheEndpointMovedMeanwhile() throws Exception {
        PeerAddress a = new PeerAddress(null, true);
        a.observe(received("10.0.0.9", 1, "10.0.0.2"));
        MemorySegment seen = a.current();
        a.forgetSource(seen);
        assertThat(a.source()).isNull();
        assertThat(a.describe()).as("the peer's address stays").isEqualTo(new InetSocketAddress(ip("10.0.0.9"), 1));

        a.observe(received("10.0.0.9", 1, "10.0.0.3"));
        MemorySegment stale = a.current();
        a.observe(received("10.0.0.9", 1, "10.0.0.4"));
        a.forgetSource(stale);
        assertThat(a.source()).as("a newer endpoint is kept").isEqualTo(ip("10.0.0.4"));

        a.forgetSource();
        assertThat(a.source()).isNull();
        assertThat(a.observe(received("10.0.0.9", 1, "10.0.0.4"))).as("heard again: remembered again").isTrue();
        assertThat(a.source()).isEqualTo(ip("10.0.0.4"));
    }

    @Test
    void settingTheEndpointForgetsTheSource() throws Exception {
        PeerAddress a = new PeerAddress(null, true);
        a.observe(received("10.0.0.9", 1, "10.0.0.2"));
        a.set(new InetSocketAddress(ip("10.0.0.9"), 1));
        assertThat(a.source()).isNull();
    }

    @Test
    void aBareAddressCarriesNoSource() throws Exception {
        PeerAddress a = new PeerAddress(null, true);
        a.observe(received("10.0.0.9", 1, "10.0.0.2"));
        MemorySegment bare = arena.allocate(SockAddr.SIZE, 8);
        SockAddr.encode(new InetSocketAddress(ip("10.0.0.9"), 1), bare);
        assertThat(a.observe(bare)).as("same address, but no source now").isTrue();
        assertThat(a.source()).isNull();
        assertThat(a.observe(bare)).isFalse();
        assertThat(Endpoint.hasSource(a.current())).isFalse();
    }

    @Test
    void aFixedPeerLearnsNothing() throws Exception {
        PeerAddress a = new PeerAddress(new InetSocketAddress(ip("10.0.0.9"), 1), false);
        assertThat(a.observe(received("10.0.0.8", 1, "10.0.0.2"))).isFalse();
        assertThat(a.source()).isNull();
    }
}
