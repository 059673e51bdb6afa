package dev.patchcord.core;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CidrTest {

    @ParameterizedTest
    @CsvSource({
            "10.0.0.1/24, 10.0.0.1/24, 24, true",
            "10.0.0.1, 10.0.0.1/32, 32, true",
            "0.0.0.0/0, 0.0.0.0/0, 0, true",
            "fd00::1/64, fd00::1/64, 64, false",
            "FD00:0000:0:0::1/064, fd00::1/64, 64, false",
            "fd00::1, fd00::1/128, 128, false",
            "::/0, ::/0, 0, false",
            "::1, ::1/128, 128, false",
            "2001:db8:0:0:1:0:0:1/48, 2001:db8::1:0:0:1/48, 48, false",
            "2001:0:0:1:0:0:0:1/128, 2001:0:0:1::1/128, 128, false",
            "1:2:3:4:5:6:7::, 1:2:3:4:5:6:7:0/128, 128, false",
            "::ffff:192.0.2.1/120, ::ffff:192.0.2.1/120, 120, false",
            "64:ff9b::192.0.2.33/96, 64:ff9b::c000:221/96, 96, false",
    })
    void parsesAndPrintsCanonically(String text, String canonical, int prefix, boolean ipv4) {
        Cidr c = Cidr.parse(text);
        assertThat(c.toString()).isEqualTo(canonical);
        assertThat(c.prefix()).isEqualTo(prefix);
        assertThat(c.isIpv4()).isEqualTo(ipv4);
        assertThat(c.bits()).isEqualTo(ipv4 ? 32 : 128);
        assertThat(c.address()).isInstanceOf(ipv4 ? Inet4Address.class : Inet6Address.class);
    }

    @ParameterizedTest
    @ValueSource(strings = {"10.0.0.300/24", "10.0.0/24", "10.0.0.1.2", "10.0.0.01", "1e.0.0.1", " 10.0.0.1",
            "", "/24", "vpn.example.com", "localhost", "fd00:::1", "fd00::1::2", "1:2:3:4:5:6:7:8:9",
            "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8::", "12345::", ":1::", "1.2.3.4::", "fe80::1%eth0", "[fd00::1]",
            "::ffff:1.2.3", "fd00::g", "١٠.0.0.1"})
    void rejectsWhatIsNotALiteral(String text) {
        assertThatThrownBy(() -> Cidr.parse(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("'" + text + "' is not an IP address");
    }

    @Test
    void prefixErrorsSayTheRange() {
        assertThatThrownBy(() -> Cidr.parse("10.0.0.1/33"))
                .hasMessage("prefix 33 is out of range for IPv4 (0-32)");
        assertThatThrownBy(() -> Cidr.parse("fd00::/129"))
                .hasMessage("prefix 129 is out of range for IPv6 (0-128)");
        assertThatThrownBy(() -> Cidr.parse("10.0.0.1/99999999999"))
                .hasMessage("prefix 99999999999 is out of range for IPv4 (0-32)");
        assertThatThrownBy(() -> Cidr.parse("10.0.0.1/-1"))
                .hasMessage("prefix '-1' of '10.0.0.1/-1' is not a number");
        assertThatThrownBy(() -> Cidr.parse("10.0.0.1/"))
                .hasMessage("prefix '' of '10.0.0.1/' is not a number");
        assertThatThrownBy(() -> Cidr.parse("10.0.0.1/255.255.255.0"))
                .hasMessage("prefix '255.255.255.0' of '10.0.0.1/255.255.255.0' is not a number");
        assertThatThrownBy(() -> new Cidr(Cidr.parseAddress("10.0.0.1"), 40))
                .hasMessage("prefix 40 is out of range for IPv4 (0-32)");
    }

    @Test
    void networkClearsHostBits() {
        assertThat(Cidr.parse("10.1.2.3/20").network()).isEqualTo(Cidr.parse("10.1.0.0/20"));
        assertThat(Cidr.parse("10.1.2.3/0").network()).hasToString("0.0.0.0/0");
        assertThat(Cidr.parse("10.1.2.3/32").network()).hasToString("10.1.2.3/32");
        assertThat(Cidr.parse("fd00:1234:5678::9/33").network()).hasToString("fd00:1234::/33");
        assertThat(Cidr.parse("::ffff:10.1.2.3/120").network()).hasToString("::ffff:10.1.2.0/120");
    }

    @Test
    void containsMatchesThePrefixOfTheSameFamily() throws UnknownHostException {
        Cidr v4 = Cidr.parse("10.1.2.3/20");
        assertThat(v4.contains(new byte[] {10, 1, 15, (byte) 255})).isTrue();
        assertThat(v4.contains(new byte[] {10, 1, 16, 0})).isFalse();
        assertThat(v4.contains(Cidr.parseAddress("10.1.0.0"))).isTrue();
        assertThat(v4.contains(Cidr.parseAddress("::ffff:10.1.0.1"))).isFalse();
        assertThat(v4.contains(new byte[16])).isFalse();
        assertThat(Cidr.parse("0.0.0.0/0").contains(Cidr.parseAddress("203.0.113.9"))).isTrue();
        assertThat(Cidr.parse("0.0.0.0/0").contains(Cidr.parseAddress("::1"))).isFalse();
        assertThat(Cidr.parse("::/0").contains(InetAddress.getByAddress(new byte[4]))).isFalse();

        Cidr v6 = Cidr.parse("fd00:1234::/33");
        assertThat(v6.contains(Cidr.parseAddress("fd00:1234:7fff::1"))).isTrue();
        assertThat(v6.contains(Cidr.parseAddress("fd00:1234:8000::1"))).isFalse();
        assertThat(Cidr.parse("fd00::1/128").contains(Cidr.parseAddress("fd00::1"))).isTrue();
        assertThat(Cidr.parse("fd00::1/128").contains(Cidr.parseAddress("fd00::2"))).isFalse();
    }

    @Test
    void ipv4MappedAddressesStayIpv6() {
        InetAddress a = Cidr.parseAddress("::ffff:192.0.2.1");
        assertThat(a).isInstanceOf(Inet6Address.class);
        assertThat(Cidr.format(a)).isEqualTo("::ffff:192.0.2.1");
        assertThat(Cidr.parse("::ffff:0:0/96").contains(a)).isTrue();
    }

    @Test
    void formatUsesTheFirstOfEquallyLongZeroRunsAndNeverShortensOneGroup() {
        assertThat(Cidr.format(Cidr.parseAddress("1:0:0:2:0:0:3:4"))).isEqualTo("1::2:0:0:3:4");
        assertThat(Cidr.format(Cidr.parseAddress("1:0:0:2:0:0:0:4"))).isEqualTo("1:0:0:2::4");
        assertThat(Cidr.format(Cidr.parseAddress("1:0:2:3:4:5:6:7"))).isEqualTo("1:0:2:3:4:5:6:7");
        assertThat(Cidr.format(Cidr.parseAddress("0:0:0:0:0:0:0:0"))).isEqualTo("::");
    }

    @Property
    void ipv4RoundTrips(@ForAll int bits, @ForAll @IntRange(max = 32) int prefix) throws UnknownHostException {
        byte[] b = {(byte) (bits >>> 24), (byte) (bits >>> 16), (byte) (bits >>> 8), (byte) bits};
        Cidr c = new Cidr(InetAddress.getByAddress(b), prefix);
        assertThat(Cidr.parse(c.toString())).isEqualTo(c);
        assertThat(Cidr.parse(c.toString())).hasToString(c.toString());
        assertThat(InetAddress.ofLiteral(Cidr.format(c.address())).getAddress()).isEqualTo(b);
    }

    @Property
    void ipv6RoundTrips(@ForAll("ipv6") byte[] b, @ForAll @IntRange(max = 128) int prefix) throws UnknownHostException {
        Cidr c = new Cidr(Inet6Address.getByAddress(null, b, -1), prefix);
        Cidr back = Cidr.parse(c.toString());
        assertThat(back).isEqualTo(c);
        assertThat(back.address().getAddress()).isEqualTo(b);
        assertThat(back).hasToString(c.toString());
        assertThat(back.isIpv4()).isFalse();
        assertThat(back.network().contains(b)).isTrue();
        InetAddress jdk = InetAddress.ofLiteral(Cidr.format(c.address()));
        if (jdk instanceof Inet6Address) {
            assertThat(jdk.getAddress()).isEqualTo(b);
        }
    }

    @Property
    void networkContainsTheAddressAndHasNoHostBits(@ForAll("ipv6") byte[] b, @ForAll @IntRange(max = 128) int prefix)
            throws UnknownHostException {
        Cidr c = new Cidr(Inet6Address.getByAddress(null, b, -1), prefix);
        assertThat(c.contains(b)).isTrue();
        assertThat(c.network().network()).isEqualTo(c.network());
        assertThat(c.network().contains(c.address())).isTrue();
    }

    @Property
    void parseThrowsOnlyIllegalArgument(@ForAll("junk") String text) {
        try {
            Cidr c = Cidr.parse(text);
            assertThat(Cidr.parse(c.toString())).isEqualTo(c);
        } catch (IllegalArgumentException expected) {
            assertThat(expected.getMessage()).isNotBlank();
        }
    }

    /** Addresses with many zero groups, so that "::" compression is exercised. */
    @Provide
    Arbitrary<byte[]> ipv6() {
        Arbitrary<Integer> group = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(3, Arbitraries.just(0)),
                net.jqwik.api.Tuple.of(1, Arbitraries.just(0xffff)),
                net.jqwik.api.Tuple.of(3, Arbitraries.integers().between(0, 0xffff)));
        return group.list().ofSize(8).map(groups -> {
            byte[] b = new byte[16];
            for (int i = 0; i < 8; i++) {
                b[2 * i] = (byte) (groups.get(i) >> 8);
                b[2 * i + 1] = (byte) (int) groups.get(i);
            }
            return b;
        });
    }

    @Provide
    Arbitrary<String> junk() {
        Arbitrary<String> pieces = Arbitraries.oneOf(
                Arbitraries.strings().withChars("0123456789abcdefABCDEF:./%[]-x ").ofMaxLength(50),
                Arbitraries.strings().all().ofMaxLength(20),
                Combinators.combine(ipv6().map(b -> {
                    try {
                        return Cidr.format(Inet6Address.getByAddress(null, b, -1));
                    } catch (UnknownHostException e) {
                        throw new AssertionError(e);
                    }
                }), Arbitraries.strings().withChars("0123456789/:.").ofMaxLength(5)).as(String::concat));
        return pieces;
    }
}
