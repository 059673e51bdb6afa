package dev.patchcord.control;

import dev.patchcord.control.SetRequest.AllowedIpChange;
import dev.patchcord.control.SetRequest.PeerChange;
import dev.patchcord.control.UapiDevice.DeviceState;
import dev.patchcord.control.UapiDevice.PeerState;
import dev.patchcord.core.Cidr;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class UapiProtocolTest {
    static final String PRIV = "a8aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa6a";
    static final String PUB_A = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    static final String PUB_B = "f0e1d2c3b4a5968778695a4b3c2d1e0f00112233445566778899aabbccddeeff";
    static final String PSK = "2222222222222222222222222222222222222222222222222222222222222222";
    static final String ZEROS = "0".repeat(64);

    static byte[] key(String hex) {
        return HexFormat.of().parseHex(hex);
    }

    static Cidr cidr(String text) {
        return Cidr.parse(text);
    }

    static UapiException error(String body) {
        try {
            UapiProtocol.parseSet(body);
        } catch (UapiException e) {
            return e;
        }
        throw new AssertionError("no error for: " + body);
    }

    @Test
    void parsesEveryDeviceKey() throws UapiException {
        SetRequest r = UapiProtocol.parseSet("private_key=" + PRIV + "\nlisten_port=51820\nfwmark=4294967295\n"
                + "replace_peers=true\n\n");
        assertThat(r.privateKey()).hasValueSatisfying(k -> assertThat(k).isEqualTo(key(PRIV)));
        assertThat(r.clearsPrivateKey()).isFalse();
        assertThat(r.listenPort()).isEqualTo(OptionalInt.of(51820));
        assertThat(Integer.toUnsignedString(r.fwmark().getAsInt())).isEqualTo("4294967295");
        assertThat(r.replacePeers()).isTrue();
        assertThat(r.peers()).isEmpty();
    }

    @Test
    void emptyRequestChangesNothing() throws UapiException {
        assertThat(UapiProtocol.parseSet("\n")).isEqualTo(new SetRequest(Optional.empty(), OptionalInt.empty(),
                OptionalInt.empty(), false, List.of()));
        assertThat(UapiProtocol.parseSet("")).isEqualTo(UapiProtocol.parseSet("\n"));
    }

    @Test
    void parsesEveryPeerKey() throws UapiException {
        SetRequest r = UapiProtocol.parseSet("public_key=" + PUB_A + "\nupdate_only=true\npreshared_key=" + PSK
                + "\nendpoint=[2001:db8::1]:51820\npersistent_keepalive_interval=25\nreplace_allowed_ips=true\n"
                + "allowed_ip=10.0.0.0/24\nallowed_ip=fd00::/64\nprotocol_version=1\n\n");
        PeerChange expected = new PeerChange(key(PUB_A), false, true, Optional.of(key(PSK)),
                Optional.of(new InetSocketAddress(Cidr.parseAddress("2001:db8::1"), 51820)), OptionalInt.of(25), true,
                List.of(AllowedIpChange.add(cidr("10.0.0.0/24")), AllowedIpChange.add(cidr("fd00::/64"))));
        assertThat(r.peers()).containsExactly(expected);
    }

    @Test
    void keepsPeerBlocksInOrderAndRepeatsAreSeparateChanges() throws UapiException {
        SetRequest r = UapiProtocol.parseSet("listen_port=1\npublic_key=" + PUB_B + "\nremove=true\npublic_key="
                + PUB_A + "\nendpoint=1.2.3.4:5\npublic_key=" + PUB_B + "\nallowed_ip=10.1.0.0/16\n\n");
        assertThat(r.peers()).extracting(p -> HexFormat.of().formatHex(p.publicKey())).containsExactly(PUB_B, PUB_A, PUB_B);
        assertThat(r.peers().get(0).remove()).isTrue();
        assertThat(r.peers().get(1).endpoint()).contains(new InetSocketAddress(Cidr.parseAddress("1.2.3.4"), 5));
        assertThat(r.peers().get(2)).isEqualTo(new PeerChange(key(PUB_B), false, false, Optional.empty(),
                Optional.empty(), OptionalInt.empty(), false, List.of(AllowedIpChange.add(cidr("10.1.0.0/16")))));
    }

    @Test
    void allowedIpsAddRemoveAndHostBitsCleared() throws UapiException {
        SetRequest r = UapiProtocol.parseSet("public_key=" + PUB_A + "\nallowed_ip=10.0.0.1/24\n"
                + "allowed_ip=-10.9.0.0/16\nallowed_ip=fd00::1:2/112\nallowed_ip=-::ffff:1.2.3.4/128\n");
        assertThat(r.peers().getFirst().allowedIps()).containsExactly(AllowedIpChange.add(cidr("10.0.0.0/24")),
                AllowedIpChange.remove(cidr("10.9.0.0/16")), AllowedIpChange.add(cidr("fd00::1:0/112")),
                AllowedIpChange.remove(cidr("::ffff:1.2.3.4/128")));
        assertThat(r.peers().getFirst().allowedIps().get(1)).hasToString("-10.9.0.0/16");
    }

    @Test
    void replaceAllowedIpsDropsTheOnesNamedBeforeIt() throws UapiException {
        SetRequest r = UapiProtocol.parseSet("public_key=" + PUB_A + "\nallowed_ip=10.0.0.0/8\n"
                + "replace_allowed_ips=true\nallowed_ip=192.168.0.0/16\n\n");
        PeerChange p = r.peers().getFirst();
        assertThat(p.replaceAllowedIps()).isTrue();
        assertThat(p.allowedIps()).containsExactly(AllowedIpChange.add(cidr("192.168.0.0/16")));
    }

    @Test
    void zeroKeysMeanRemoveAndUppercaseHexIsAccepted() throws UapiException {
        SetRequest r = UapiProtocol.parseSet("private_key=" + ZEROS + "\npublic_key=" + PUB_B.toUpperCase()
                + "\npreshared_key=" + ZEROS + "\n\n");
        assertThat(r.clearsPrivateKey()).isTrue();
        assertThat(r.peers().getFirst().publicKey()).isEqualTo(key(PUB_B));
        assertThat(r.peers().getFirst().clearsPresharedKey()).isTrue();
        assertThat(r.toString()).contains("privateKey=(clear)").doesNotContain(ZEROS);
    }

    @Test
    void stopsAtTheEmptyLineAndAcceptsCrLf() throws UapiException {
        SetRequest r = UapiProtocol.parseSet("listen_port=7\r\n\r\nlisten_port=bogus\n");
        assertThat(r.listenPort()).isEqualTo(OptionalInt.of(7));
    }

    @Test
    void endpointForms() throws UapiException {
        assertThat(endpoint("1.2.3.4:51820")).isEqualTo("1.2.3.4:51820");
        assertThat(endpoint("[FD00::0001]:0051")).isEqualTo("[fd00::1]:51");
        assertThat(endpoint("[::ffff:1.2.3.4]:80")).isEqualTo("[::ffff:1.2.3.4]:80");
        assertThat(endpoint("1.2.3.4:0")).isEqualTo("1.2.3.4:0");
        InetSocketAddress scoped = UapiValues.endpoint("[fe80::1%3]:51820");
        assertThat(((Inet6Address) scoped.getAddress()).getScopeId()).isEqualTo(3);
        assertThat(UapiProtocol.formatEndpoint(scoped)).isEqualTo("[fe80::1%3]:51820");
    }

    static String endpoint(String text) throws UapiException {
        return UapiProtocol.formatEndpoint(UapiValues.endpoint(text));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '"', textBlock = """
            private_key=abc                     | private_key is not a key: expected 64 hex digits, got 3 characters
            private_key=%G                      | private_key is not a key: it has characters other than 0-9 and a-f
            listen_port=65536                   | listen_port '65536' is not a number from 0 to 65535
            listen_port=-1                      | listen_port '-1' is not a number from 0 to 65535
            listen_port=+1                      | listen_port '+1' is not a number from 0 to 65535
            listen_port=                        | listen_port '' is not a number from 0 to 65535
            fwmark=4294967296                   | fwmark '4294967296' is not a number from 0 to 4294967295
            fwmark=0x10                         | fwmark '0x10' is not a number from 0 to 4294967295
            replace_peers=false                 | replace_peers must be 'true', not 'false'
            foo=1                               | unknown device key 'foo'
            =1                                  | unknown device key ''
            endpoint=1.2.3.4:1                  | peer key 'endpoint' comes before any public_key line
            public_key=abcd                     | public_key is not a key: expected 64 hex digits, got 4 characters
            %P\\nlisten_port=1                   | device key 'listen_port' comes after a public_key line (device keys go first)
            %P\\nfoo=bar                         | unknown peer key 'foo'
            %P\\nremove=false                    | remove must be 'true', not 'false'
            %P\\nupdate_only=1                   | update_only must be 'true', not '1'
            %P\\nreplace_allowed_ips=yes         | replace_allowed_ips must be 'true', not 'yes'
            %P\\npreshared_key=%G                | preshared_key is not a key: it has characters other than 0-9 and a-f
            %P\\nprotocol_version=2              | protocol_version '2' is not supported (only 1)
            %P\\npersistent_keepalive_interval=65536 | persistent_keepalive_interval '65536' is not a number from 0 to 65535
            %P\\nendpoint=vpn.example.com:51820  | endpoint 'vpn.example.com:51820' does not start with an IP address (host names are resolved by wg, not sent)
            %P\\nendpoint=fd00::1:51820          | endpoint 'fd00::1:51820' needs brackets around the IPv6 address
            %P\\nendpoint=[1.2.3.4]:80           | endpoint '[1.2.3.4]:80' has an IPv4 address in brackets
            %P\\nendpoint=1.2.3.4                | endpoint '1.2.3.4' expected IP:PORT or [IPv6]:PORT
            %P\\nendpoint=1.2.3.4:               | endpoint '1.2.3.4:' expected IP:PORT or [IPv6]:PORT
            %P\\nendpoint=1.2.3.4:65536          | endpoint '1.2.3.4:65536' has port '65536', not a number from 0 to 65535
            %P\\nendpoint=[fd00::1:80            | endpoint '[fd00::1:80' has no ']' to end the IPv6 address
            %P\\nendpoint=[fe80::1%nosuchif9]:80 | endpoint '[fe80::1%nosuchif9]:80' names zone 'nosuchif9', which is no network interface here
            %P\\nallowed_ip=10.0.0.0             | allowed_ip '10.0.0.0' has no /prefix-length
            %P\\nallowed_ip=10.0.0.0/33          | allowed_ip: prefix 33 is out of range for IPv4 (0-32)
            %P\\nallowed_ip=10.0.0.0/024         | allowed_ip '10.0.0.0/024' has a prefix length with a leading zero
            %P\\nallowed_ip=10.0.0.300/24        | allowed_ip: '10.0.0.300/24' is not an IP address
            %P\\nallowed_ip=fe80::1%1/64         | allowed_ip 'fe80::1%1/64' has an IPv6 zone, which a prefix cannot have
            %P\\nallowed_ip=-                    | allowed_ip '-' has no /prefix-length
            """)
    void invalidValuesAreEinvalWithAClearMessage(String line, String message) {
        String body = line.replace("%P", "public_key=" + PUB_A).replace("%G", "g".repeat(64)).replace("\\n", "\n");
        UapiException e = error(body + "\n\n");
        assertThat(e.errno()).isEqualTo(UapiException.EINVAL);
        assertThat(e.getMessage()).isEqualTo(message);
    }

    @Test
    void lineWithoutEqualsIsAProtocolError() {
        UapiException e = error("listen_port=1\nwhat\n\n");
        assertThat(e.errno()).isEqualTo(UapiException.EPROTO);
        assertThat(e.getMessage()).isEqualTo("line 'what' is not key=value");
    }

    @Test
    void keyTyposAreNotEchoedAndControlCharactersNotLogged() {
        String almost = PRIV.substring(0, 63) + "x";
        assertThat(error("private_key=" + almost + "\n").getMessage()).doesNotContain(almost.substring(0, 20));
        assertThat(error("bad\u001b[2Jkey=1\n").getMessage()).isEqualTo("unknown device key 'bad?[2Jkey'");
        assertThat(error("x".repeat(500) + "=1\n").getMessage()).hasSizeLessThan(120);
    }

    @Test
    void formatsGetLikeWireguardGo() {
        PeerState a = new PeerState(key(PUB_A), key(PSK), new InetSocketAddress(Cidr.parseAddress("192.0.2.7"), 51820),
                1_700_000_123_456_789_012L, 2048, 1024, 25, List.of(cidr("10.0.0.2/32"), cidr("fd00::2/128")),
                Map.of("drops_not_allowed", "3", "drops_no_route", "0"));
        PeerState b = new PeerState(key(PUB_B), null, new InetSocketAddress(Cidr.parseAddress("2001:db8::9"), 443),
                0, 0, -1, 0, List.of());
        DeviceState state = new DeviceState(key(PRIV), 51820, 0x1234, List.of(a, b), Map.of("mode", "tun"));
        assertThat(UapiProtocol.formatGet(state)).isEqualTo("""
                private_key=%s
                listen_port=51820
                fwmark=4660
                patchcord_mode=tun
                public_key=%s
                preshared_key=%s
                protocol_version=1
                endpoint=192.0.2.7:51820
                last_handshake_time_sec=1700000123
                last_handshake_time_nsec=456789012
                tx_bytes=1024
                rx_bytes=2048
                persistent_keepalive_interval=25
                allowed_ip=10.0.0.2/32
                allowed_ip=fd00::2/128
                patchcord_drops_no_route=0
                patchcord_drops_not_allowed=3
                public_key=%s
                preshared_key=%s
                protocol_version=1
                endpoint=[2001:db8::9]:443
                last_handshake_time_sec=0
                last_handshake_time_nsec=0
                tx_bytes=18446744073709551615
                rx_bytes=0
                persistent_keepalive_interval=0
                errno=0

                """.formatted(PRIV, PUB_A, PSK, PUB_B, ZEROS));
    }

    @Test
    void leavesOutWhatWireguardGoLeavesOut() {
        PeerState peer = new PeerState(key(PUB_A), null, null, 0, 0, 0, 0, List.of(cidr("10.0.0.7/24")));
        assertThat(UapiProtocol.formatGet(new DeviceState(null, 0, 0, List.of(peer)))).isEqualTo("""
                public_key=%s
                preshared_key=%s
                protocol_version=1
                last_handshake_time_sec=0
                last_handshake_time_nsec=0
                tx_bytes=0
                rx_bytes=0
                persistent_keepalive_interval=0
                allowed_ip=10.0.0.0/24
                errno=0

                """.formatted(PUB_A, ZEROS));
        assertThat(UapiProtocol.formatGet(new DeviceState(new byte[32], 0, -1, List.of())))
                .isEqualTo("fwmark=4294967295\nerrno=0\n\n");
    }

    @Test
    void errnoRepliesAreNegativeLikeWireguardGo() {
        assertThat(UapiProtocol.formatErrno(0)).isEqualTo("errno=0\n\n");
        assertThat(UapiProtocol.formatErrno(UapiException.EINVAL)).isEqualTo("errno=-22\n\n");
        assertThatThrownBy(() -> UapiProtocol.formatErrno(-22)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void extensionsCannotForgeLines() {
        assertThatThrownBy(() -> new DeviceState(null, 0, 0, List.of(), Map.of("x", "1\nprivate_key=00")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("printable ASCII");
        assertThatThrownBy(() -> new DeviceState(null, 0, 0, List.of(), Map.of("Bad-Key", "1")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("a-z, 0-9 and '_'");
    }

    /** A get reply of a device that names its configuration file, as {@code patchcord up} sends it. */
    private static String replyNaming(String path) {
        String value = UapiProtocol.encodePath(path).orElseThrow();
        PeerState p = new PeerState(key(PUB_A), null, null, 0, 0, 0, 0, List.of(cidr("10.0.0.2/32")),
                Map.of("rx_packets", "0"));
        return UapiProtocol.formatGet(new DeviceState(key(PRIV), 51820, 0, List.of(p),
                Map.of("mode", "wireguard", UapiProtocol.CONFIG_FILE, value)));
    }

    @Test
    void getRepliesNameTheConfigurationFile() {
        String reply = replyNaming("/srv/vpn/wg0.conf");
        assertThat(reply).contains("\npatchcord_config_file=/srv/vpn/wg0.conf\n");
        assertThat(UapiProtocol.configFile(reply)).contains("/srv/vpn/wg0.conf");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
            "/srv/my vpn/wg0.conf        | /srv/my vpn/wg0.conf",
            "/srv/100%/wg0.conf          | /srv/100%25/wg0.conf",
            "/srv/café/wg0.conf          | /srv/caf%C3%A9/wg0.conf",
            "/srv/a=b;c'd\\e/wg0.conf   | /srv/a=b;c'd\\e/wg0.conf"})
    void oddCharactersInPathsAreEncodedAndComeBack(String path, String encoded) {
        assertThat(UapiProtocol.encodePath(path)).contains(encoded);
        assertThat(UapiProtocol.configFile(replyNaming(path))).contains(path);
    }

    @Test
    void aNewlineInAPathCannotForgeALine() {
        String path = "/srv/x\nprivate_key=" + ZEROS + "\n/wg0.conf";
        String value = UapiProtocol.encodePath(path).orElseThrow();
        assertThat(value).doesNotContain("\n", "\r").startsWith("/srv/x%0Aprivate_key=");
        String reply = replyNaming(path);
        assertThat(reply.lines()).noneMatch(line -> line.startsWith("private_key=" + ZEROS));
        assertThat(UapiProtocol.configFile(reply)).contains(path);
        assertThat(UapiProtocol.encodePath("/srv/\r\t\u007f/wg0.conf")).contains("/srv/%0D%09%7F/wg0.conf");
    }

    @Test
    void pathsThatCannotBeCarriedAreNotReported() {
        assertThat(UapiProtocol.encodePath("/" + "a".repeat(UapiDevice.MAX_EXTENSION_VALUE - 1))).isPresent();
        assertThat(UapiProtocol.encodePath("/" + "a".repeat(UapiDevice.MAX_EXTENSION_VALUE))).isEmpty();
        assertThat(UapiProtocol.encodePath("/" + "é".repeat(200))).isEmpty(); // 1 + 200 * 6 characters encoded
        assertThat(UapiProtocol.encodePath("/srv/\ud800/wg0.conf")).as("a lone surrogate").isEmpty();
    }

    @Test
    void repliesWithoutTheKeyNameNoFile() {
        // wireguard-go's reply, and patchcord's plain modes: no such line.
        assertThat(UapiProtocol.configFile("private_key=" + PRIV + "\nlisten_port=51820\npublic_key=" + PUB_A
                + "\nallowed_ip=10.0.0.2/32\nerrno=0\n\n")).isEmpty();
        assertThat(UapiProtocol.configFile("errno=-22\n\n")).isEmpty();
        assertThat(UapiProtocol.configFile("")).isEmpty();
        // Only the device's lines count: the same key in a peer's part, or after the reply, is not the device's.
        assertThat(UapiProtocol.configFile("listen_port=1\npublic_key=" + PUB_A
                + "\npatchcord_config_file=/srv/wg0.conf\nerrno=0\n\n")).isEmpty();
        assertThat(UapiProtocol.configFile("errno=0\n\npatchcord_config_file=/srv/wg0.conf\n")).isEmpty();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
            "/srv/100%/wg0.conf", "/srv/%4/wg0.conf", "/srv/wg0.conf%", "/srv/%zz/wg0.conf", "/srv/%C3/wg0.conf",
            "/srv/%00/wg0.conf", "/srv/é/wg0.conf", "/srv/%\u0663\u0663/wg0.conf", "\"\""})
    void malformedValuesNameNoFile(String value) {
        assertThat(UapiProtocol.configFile("patchcord_config_file=" + value + "\nerrno=0\n\n")).isEmpty();
    }

    @Property(tries = 2000)
    void everyUnicodePathComesBackAsItWent(@ForAll("paths") String path) {
        UapiProtocol.encodePath(path).ifPresent(value -> {
            assertThat(value).matches("[\\x20-\\x7e]*");
            assertThat(UapiProtocol.configFile("patchcord_config_file=" + value + "\nerrno=0\n\n")).contains(path);
        });
    }

    @Provide
    Arbitrary<String> paths() {
        return Arbitraries.strings().all().excludeChars('\0').ofMinLength(1).ofMaxLength(80)
                .filter(s -> s.codePoints().noneMatch(c -> c >= 0xd800 && c <= 0xdfff))
                .map(s -> "/" + s);
    }

    @Test
    void toStringsHideSecrets() throws UapiException {
        SetRequest r = UapiProtocol.parseSet("private_key=" + PRIV + "\npublic_key=" + PUB_A + "\npreshared_key="
                + PSK + "\n");
        assertThat(r.toString()).contains("(hidden)").doesNotContain(PRIV).doesNotContain("IiIi");
        PeerState p = new PeerState(key(PUB_A), key(PSK), null, 0, 0, 0, 0, List.of());
        assertThat(new DeviceState(key(PRIV), 0, 0, List.of(p)).toString()).doesNotContain("qKqq").doesNotContain("IiIi");
    }

    @Property(tries = 2000)
    void randomTextOnlyEverFailsWithUapiException(@ForAll("requests") String body) {
        try {
            UapiProtocol.parseSet(body);
        } catch (UapiException e) {
            assertThat(e.errno()).isIn(UapiException.EINVAL, UapiException.EPROTO);
        }
    }

    @Provide
    Arbitrary<String> requests() {
        Arbitrary<String> keys = Arbitraries.of("private_key", "listen_port", "fwmark", "replace_peers", "public_key",
                "remove", "update_only", "preshared_key", "endpoint", "persistent_keepalive_interval",
                "replace_allowed_ips", "allowed_ip", "protocol_version", "", "x");
        Arbitrary<String> values = Arbitraries.oneOf(
                Arbitraries.strings().ofMaxLength(70),
                Arbitraries.strings().withChars("0123456789abcdefABCDEF").ofLength(64),
                Arbitraries.strings().withChars("0123456789.:[]%/-").ofMaxLength(40),
                Arbitraries.of("true", "1", "0", "65535", "4294967295", "99999999999999999999", PUB_A,
                        "[fe80::1%1]:1", "-::/0", "0.0.0.0/0"));
        Arbitrary<String> line = Arbitraries.oneOf(
                net.jqwik.api.Combinators.combine(keys, values).as((k, v) -> k + "=" + v),
                Arbitraries.strings().ofMaxLength(30));
        return Arbitraries.oneOf(line.list().ofMaxSize(12).map(l -> String.join("\n", l)),
                Arbitraries.strings().ofMaxLength(300));
    }
}
