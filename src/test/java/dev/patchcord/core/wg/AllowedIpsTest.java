package dev.patchcord.core.wg;

import dev.patchcord.core.Cidr;
import dev.patchcord.core.Counters;
import dev.patchcord.testing.TestPackets;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/** Cryptokey routing over real packet bytes, and the UAPI's ways of changing it. */
class AllowedIpsTest {
    /** Where packets start in the buffer, as after the tunnel's headroom. */
    private static final int OFF = 16;

    private final SplittableRandom rng = new SplittableRandom(9);
    private final Node node = new Node(X25519.generatePrivate(rng.split()), rng.split(), new Counters(),
            Node.DEFAULT_LOAD_THRESHOLD);
    private final Peer a = peer();
    private final Peer b = peer();
    private final Peer c = peer();
    private final AllowedIps ips = new AllowedIps();
    private final ByteBuffer buf = ByteBuffer.allocateDirect(256);

    private Peer peer() {
        return node.addPeer(X25519.publicKey(X25519.generatePrivate(rng.split())), null);
    }

    private void add(Peer peer, String... cidrs) {
        for (String cidr : cidrs) {
            ips.add(Cidr.parse(cidr), peer);
        }
    }

    private static byte[] address(String text) {
        return Cidr.parseAddress(text).getAddress();
    }

    /** A UDP-over-IPv4 header with an 8-byte payload; the version nibble comes from the first byte. */
    static byte[] ipv4(String src, String dst) {
        return TestPackets.ipv4(address(src), address(dst), TestPackets.UDP, 8);
    }

    /** A UDP-over-IPv6 header with an 8-byte payload. */
    static byte[] ipv6(String src, String dst) {
        return TestPackets.ipv6(address(src), address(dst), TestPackets.UDP, 8);
    }

    /** Puts {@code packet} at {@link #OFF}, after bytes that look like nothing in particular. */
    private int place(byte[] packet) {
        buf.clear();
        for (int i = 0; i < OFF; i++) {
            buf.put(i, (byte) 0xa5);
        }
        buf.put(OFF, packet).position(3);
        return packet.length;
    }

    private Peer destination(byte[] packet) {
        return ips.forDestination(buf, OFF, place(packet));
    }

    private Peer source(byte[] packet) {
        return ips.forSource(buf, OFF, place(packet));
    }

    @Test
    void ipv4PacketsGoToTheLongestPrefixOfTheirDestinationAndComeFromTheirSource() {
        add(a, "10.0.0.0/24");
        add(b, "10.0.0.7/32");
        add(c, "0.0.0.0/0");
        byte[] packet = ipv4("10.0.0.7", "10.0.0.9");
        assertThat(destination(packet)).isSameAs(a);
        assertThat(source(packet)).isSameAs(b);
        assertThat(buf.position()).as("the buffer is read in place").isEqualTo(3);
        assertThat(destination(ipv4("10.0.0.9", "10.0.0.7"))).isSameAs(b);
        assertThat(destination(ipv4("10.0.0.9", "8.8.8.8"))).isSameAs(c);
        assertThat(source(ipv4("10.0.1.1", "10.0.0.7"))).isSameAs(c);
        assertThat(destination(ipv6("fd00::1", "fd00::2"))).as("no IPv6 route").isNull();
    }

    @Test
    void ipv6PacketsAreRoutedInTheirOwnTable() {
        add(a, "fd00::/64");
        add(b, "fd00::7/128");
        add(c, "::/0");
        add(a, "10.0.0.7/32");
        byte[] packet = ipv6("fd00::7", "fd00::9");
        assertThat(destination(packet)).isSameAs(a);
        assertThat(source(packet)).isSameAs(b);
        assertThat(destination(ipv6("fd00::9", "fd00:0:0:1::7"))).isSameAs(c);
        assertThat(destination(ipv6("fd00::9", "::ffff:10.0.0.7"))).as("IPv4-mapped stays IPv6").isSameAs(c);
        assertThat(source(ipv6("2001:db8::1", "fd00::7"))).isSameAs(c);
    }

    @Test
    void truncatedOrNonIpPacketsHaveNoPeer() {
        add(a, "0.0.0.0/0", "::/0");
        byte[] v4 = ipv4("10.0.0.1", "10.0.0.2");
        byte[] v6 = ipv6("fd00::1", "fd00::2");
        place(v4);
        assertThat(ips.forDestination(buf, OFF, 20)).isSameAs(a);
        assertThat(ips.forDestination(buf, OFF, 19)).isNull();
        assertThat(ips.forSource(buf, OFF, 0)).isNull();
        place(v6);
        assertThat(ips.forSource(buf, OFF, 40)).isSameAs(a);
        assertThat(ips.forSource(buf, OFF, 39)).isNull();
        v4[0] = 0x55;
        assertThat(destination(v4)).as("version 5").isNull();
        v6[0] = 0x00;
        assertThat(destination(v6)).as("version 0").isNull();
    }

    @Test
    void aPeerCanOnlyRemoveItsOwnPrefix() {
        add(a, "10.0.0.0/24", "fd00::/64");
        assertThat(ips.remove(Cidr.parse("10.0.0.0/24"), b)).isFalse();
        assertThat(destination(ipv4("10.0.0.1", "10.0.0.2"))).isSameAs(a);
        assertThat(ips.remove(Cidr.parse("10.0.0.0/25"), a)).as("not a prefix it has").isFalse();
        assertThat(ips.remove(Cidr.parse("10.0.0.99/24"), a)).as("host bits ignored").isTrue();
        assertThat(destination(ipv4("10.0.0.1", "10.0.0.2"))).isNull();
        assertThat(ips.remove(Cidr.parse("10.0.0.0/24"), a)).isFalse();
        assertThat(ips.remove(Cidr.parse("fd00::1/64"), a)).isTrue();
        assertThat(ips.size()).isZero();
    }

    @Test
    void aPrefixAddedAgainMovesToTheNewPeer() {
        add(a, "10.0.0.0/24");
        add(b, "10.0.0.1/24");
        assertThat(ips.of(a)).isEmpty();
        assertThat(ips.of(b)).extracting(Cidr::toString).containsExactly("10.0.0.0/24");
        assertThat(ips.size()).isEqualTo(1);
        assertThat(ips.remove(Cidr.parse("10.0.0.0/24"), a)).as("no longer a's").isFalse();
        ips.removePeer(b);
        assertThat(destination(ipv4("10.0.0.9", "10.0.0.2"))).isNull();
        assertThat(ips.size()).isZero();
    }

    @Test
    void replacingAPeersPrefixesDropsItsOldOnesAndTakesTheNewOnes() {
        add(a, "10.0.0.0/24", "fd00::/64");
        add(b, "10.1.0.0/16", "10.2.0.0/16");
        add(c, "192.168.0.0/16");
        ips.replacePeer(a, List.of(Cidr.parse("fd01::5/48"), Cidr.parse("10.1.0.0/16"), Cidr.parse("192.168.0.1/32")));
        assertThat(ips.of(a)).extracting(Cidr::toString).containsExactly("10.1.0.0/16", "192.168.0.1/32", "fd01::/48");
        assertThat(ips.of(b)).extracting(Cidr::toString).containsExactly("10.2.0.0/16");
        assertThat(ips.of(c)).extracting(Cidr::toString).containsExactly("192.168.0.0/16");
        assertThat(ips.size()).isEqualTo(5);
        assertThat(destination(ipv4("10.0.0.1", "10.0.0.2"))).isNull();
        assertThat(destination(ipv4("10.0.0.1", "10.1.2.3"))).isSameAs(a);
        assertThat(destination(ipv4("10.0.0.1", "192.168.0.1"))).isSameAs(a);
        assertThat(destination(ipv4("10.0.0.1", "192.168.0.2"))).isSameAs(c);
        assertThat(destination(ipv6("fd01::1", "fd00::1"))).isNull();
        ips.replacePeer(a, List.of());
        assertThat(ips.of(a)).isEmpty();
        assertThat(ips.size()).isEqualTo(2);
    }

    @Test
    void aPeersPrefixesListIpv4FirstThenByAddressAndLength() {
        add(a, "fd00::1/64", "10.0.0.9/24", "::ffff:1.2.3.4/128", "10.0.0.9/8", "2001:db8::/32", "1.2.3.4/32", "0.0.0.0/0");
        add(b, "10.0.0.0/16", "fd00::/16");
        List<Cidr> mine = ips.of(a);
        assertThat(mine).extracting(Cidr::toString).containsExactly("0.0.0.0/0", "1.2.3.4/32", "10.0.0.0/8",
                "10.0.0.0/24", "::ffff:1.2.3.4/128", "2001:db8::/32", "fd00::/64");
        assertThat(mine.get(4).isIpv4()).as("an IPv4-mapped prefix stays IPv6").isFalse();
        assertThat(mine).containsExactlyElementsOf(mine.stream().map(Cidr::network).toList());
        assertThat(ips.size()).isEqualTo(9);
    }
}
