package dev.patchcord.transport;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.net.InetSocketAddress;

import static org.assertj.core.api.Assertions.assertThat;

class SockAddrTest {
    @Test
    void ipv4IsEncodedAsMappedIpv6() throws Exception {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(SockAddr.SIZE);
            SockAddr.encode(new InetSocketAddress(InetAddress.getByName("198.18.0.2"), 1234), s);
            byte[] raw = s.toArray(ValueLayout.JAVA_BYTE);
            assertThat(raw[0]).isEqualTo((byte) 10); // AF_INET6, little-endian
            assertThat(raw[2]).isEqualTo((byte) 0x04);
            assertThat(raw[3]).isEqualTo((byte) 0xd2); // port 1234, big-endian
            assertThat(java.util.Arrays.copyOfRange(raw, 18, 24))
                    .containsExactly(0xff, 0xff, 198, 18, 0, 2);
            assertThat(SockAddr.decode(s)).isEqualTo(new InetSocketAddress(InetAddress.getByName("198.18.0.2"), 1234));
        }
    }

    @Test
    void ipv6RoundTrips() throws Exception {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(SockAddr.SIZE);
            InetSocketAddress a = new InetSocketAddress(InetAddress.getByName("fd00:198:18::2"), 51820);
            SockAddr.encode(a, s);
            assertThat(SockAddr.decode(s)).isEqualTo(a);
            assertThat(SockAddr.format(a)).isEqualTo("[fd00:198:18:0:0:0:0:2]:51820");
        }
    }
}
