package dev.patchcord.control;

import dev.patchcord.core.Cidr;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Base64;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

class WgConfigTest {
    static final String PRIVATE = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
    static final String PEER_A = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
    static final String PEER_B = "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=";
    static final String PSK = "gN65BkIKy1eCE9pP1wdc8ROUtkHLF2PfAqYdyYBz6EA=";

    static final String FULL = """
            # wg0.conf: the office tunnel
            [Interface]
              PrivateKey = %s   # from 'wg genkey'
            listenport=51820
            Address = 10.200.100.8/24, fd42:42:42::8/64
            address = 10.200.101.8   # a second line adds to the list
            DNS = 10.200.100.1, fd42:42:42::1 corp.example.com
            MTU = 1380
            Table = 1234
            FwMark = 0x1234
            PreUp = echo 'starting #1' > /tmp/wg0.log
            PostUp = iptables -A FORWARD -i %%i -j ACCEPT; iptables -t nat -A POSTROUTING -o eth0 -j MASQUERADE
            PostUp = ip rule add from 10.200.100.8 table 1234
            PreDown = logger -t wg0 stopping
            PostDown = iptables -D FORWARD -i %%i -j ACCEPT
            SaveConfig = False

            [peer]
            publickey = %s
            PresharedKey = %s
            AllowedIPs = 10.192.122.3/32, 10.192.124.1/24
            AllowedIPs = fd42:42:42::3/128
            Endpoint = [2001:db8::1]:51820
            PersistentKeepalive = 25

            [PEER]   # the gateway, roaming
            PublicKey = %s
            AllowedIPs = 0.0.0.0/0,::/0
            Endpoint = vpn.example.net:4500
            PersistentKeepalive = off
            """.formatted(PRIVATE, PEER_A, PSK, PEER_B);

    static String iface(String... lines) {
        return "[Interface]\nPrivateKey = " + PRIVATE + "\n" + String.join("\n", lines) + "\n";
    }

    static String error(String text) {
        try {
            WgConfig.parse(text, "wg0.conf");
        } catch (ConfigException e) {
            return e.getMessage();
        }
        throw new AssertionError("no error for:\n" + text);
    }

    static byte[] b64(String s) {
        return Base64.getDecoder().decode(s);
    }

    @Test
    void readsARealisticFileWithEveryKey() throws ConfigException {
        WgConfig c = WgConfig.parse(FULL, "wg0.conf");
        WgInterfaceSection i = c.interfaceSection();
        assertThat(c.source()).isEqualTo("wg0.conf");
        assertThat(i.privateKey()).isEqualTo(b64(PRIVATE));
        assertThat(i.listenPort()).isEqualTo(51820);
        assertThat(i.addresses()).extracting(Cidr::toString)
                .containsExactly("10.200.100.8/24", "fd42:42:42::8/64", "10.200.101.8/32");
        assertThat(i.dns()).containsExactly("10.200.100.1", "fd42:42:42::1", "corp.example.com");
        assertThat(i.dnsServers()).containsExactly("10.200.100.1", "fd42:42:42::1");
        assertThat(i.dnsSearchDomains()).containsExactly("corp.example.com");
        assertThat(i.mtu()).isEqualTo(1380);
        assertThat(i.mtuOrDefault()).isEqualTo(1380);
        assertThat(i.table()).isEqualTo(RouteTable.named("1234"));
        assertThat(i.routes()).isTrue();
        assertThat(i.routeTable()).isEqualTo("1234");
        assertThat(i.fwMark()).isEqualTo(0x1234);
        assertThat(i.preUp()).containsExactly("echo 'starting #1' > /tmp/wg0.log");
        assertThat(i.postUp()).containsExactly(
                "iptables -A FORWARD -i %i -j ACCEPT; iptables -t nat -A POSTROUTING -o eth0 -j MASQUERADE",
                "ip rule add from 10.200.100.8 table 1234");
        assertThat(i.preDown()).containsExactly("logger -t wg0 stopping");
        assertThat(i.postDown()).containsExactly("iptables -D FORWARD -i %i -j ACCEPT");
        assertThat(i.saveConfig()).isFalse();

        assertThat(c.peers()).hasSize(2);
        WgPeerSection a = c.peers().get(0);
        assertThat(a.publicKey()).isEqualTo(b64(PEER_A));
        assertThat(a.publicKeyBase64()).isEqualTo(PEER_A);
        assertThat(a.presharedKey()).isEqualTo(b64(PSK));
        assertThat(a.allowedIps()).extracting(Cidr::toString)
                .containsExactly("10.192.122.3/32", "10.192.124.1/24", "fd42:42:42::3/128");
        assertThat(a.endpoint()).isEqualTo(new Endpoint("2001:db8::1", 51820));
        assertThat(a.endpoint()).hasToString("[2001:db8::1]:51820");
        assertThat(a.endpoint().literal()).contains(Cidr.parseAddress("2001:db8::1"));
        assertThat(a.persistentKeepalive()).isEqualTo(25);

        WgPeerSection b = c.peers().get(1);
        assertThat(b.publicKey()).isEqualTo(b64(PEER_B));
        assertThat(b.presharedKey()).isNull();
        assertThat(b.allowedIps()).extracting(Cidr::toString).containsExactly("0.0.0.0/0", "::/0");
        assertThat(b.endpoint()).isEqualTo(new Endpoint("vpn.example.net", 4500));
        assertThat(b.endpoint().literal()).isEmpty();
        assertThat(b.persistentKeepalive()).isZero();
    }

    @Test
    void absentKeysGetTheirDefaults() throws ConfigException {
        WgConfig c = WgConfig.parse(iface() + "[Peer]\nPublicKey = " + PEER_A + "\n", "wg0.conf");
        WgInterfaceSection i = c.interfaceSection();
        assertThat(i.listenPort()).isNull();
        assertThat(i.addresses()).isEmpty();
        assertThat(i.mtu()).isNull();
        assertThat(i.mtuOrDefault()).isEqualTo(1420);
        assertThat(i.dns()).isEmpty();
        assertThat(i.table()).isNull();
        assertThat(i.fwMark()).isNull();
        assertThat(List.of(i.preUp(), i.postUp(), i.preDown(), i.postDown())).allMatch(List::isEmpty);
        assertThat(i.saveConfig()).isFalse();
        WgPeerSection p = c.peers().getFirst();
        assertThat(p.presharedKey()).isNull();
        assertThat(p.allowedIps()).isEmpty();
        assertThat(p.endpoint()).isNull();
        assertThat(p.persistentKeepalive()).isZero();
    }

    @Test
    void anInterfaceAloneIsEnough() throws ConfigException {
        WgConfig c = WgConfig.parse("[Interface]\r\nPrivateKey=" + PRIVATE + "\r\n", "wg0.conf");
        assertThat(c.peers()).isEmpty();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "FwMark = 1234       | 1234",
            "FwMark = 0xffffffff | -1",
            "FwMark = off        | ",
            "FwMark = 0          | ",
    })
    void fwMarkIsDecimalHexOrOff(String line, Integer expected) throws ConfigException {
        assertThat(WgConfig.parse(iface(line), "x").interfaceSection().fwMark()).isEqualTo(expected);
    }

    @Test
    void valuesAsWgQuickReadsThem() throws ConfigException {
        WgInterfaceSection i = WgConfig.parse(iface("ListenPort = 0", "Table = OFF", "SaveConfig = TRUE",
                "MTU =", "Address = 10.0.0.1/24 10.0.0.2/24,,", "PostUp ="), "x").interfaceSection();
        assertThat(i.listenPort()).as("0 means random, as in wg").isNull();
        assertThat(i.table()).isEqualTo(RouteTable.OFF);
        assertThat(i.routes()).isFalse();
        assertThat(i.routeTable()).isNull();
        assertThat(i.saveConfig()).isTrue();
        assertThat(i.mtu()).isNull();
        assertThat(i.addresses()).hasSize(2);
        assertThat(i.postUp()).isEmpty();
        WgPeerSection p = WgConfig.parse(iface("[Peer]", "PublicKey = " + PEER_A, "Endpoint = 192.0.2.1 : 51820",
                "PersistentKeepalive = 0", "AllowedIPs = 10.0.0.0/8 , fd00::/8"), "x").peers().getFirst();
        assertThat(p.endpoint()).isEqualTo(new Endpoint("192.0.2.1", 51820));
        assertThat(p.persistentKeepalive()).isZero();
        assertThat(p.allowedIps()).hasSize(2);
    }

    @Test
    void endpointForms() {
        assertThat(Endpoint.parse("[fe80::1%eth0]:51820")).isEqualTo(new Endpoint("fe80::1%eth0", 51820));
        assertThat(Endpoint.parse("fd00::1:51820")).hasToString("[fd00::1]:51820");
        assertThat(Endpoint.parse("vpn.example.net.:1")).isEqualTo(new Endpoint("vpn.example.net.", 1));
        assertThatThrownBy(() -> Endpoint.parse("10.0.0.300:51820"))
                .hasMessage("'10.0.0.300:51820' does not start with a host name or IP address");
        assertThatThrownBy(() -> Endpoint.parse("[fd00::1:51820"))
                .hasMessage("'[fd00::1:51820' has no ']' to end the IPv6 address");
        assertThatThrownBy(() -> Endpoint.parse("[vpn.example.net]:51820"))
                .hasMessage("'[vpn.example.net]:51820' has 'vpn.example.net' in brackets, which is not an IPv6 address");
    }

    @Test
    void structureErrors() {
        assertThat(error("")).isEqualTo("wg0.conf: [Interface] section is missing");
        assertThat(error("# only a comment\n[Peer]\nPublicKey = " + PEER_A))
                .isEqualTo("wg0.conf: [Interface] section is missing");
        assertThat(error("\nListenPort = 51820\n[Interface]\nPrivateKey = " + PRIVATE))
                .isEqualTo("wg0.conf:2: ListenPort is outside any section (start the file with [Interface])");
        assertThat(error("[Interface]\nListenPort = 1"))
                .isEqualTo("wg0.conf:1: [Interface] has no PrivateKey");
        assertThat(error(iface("[Interfaces]")))
                .isEqualTo("wg0.conf:3: unknown section '[Interfaces]' (expected [Interface] or [Peer])");
        assertThat(error(iface("[Peer", "PublicKey = " + PEER_A)))
                .isEqualTo("wg0.conf:3: unknown section '[Peer' (expected [Interface] or [Peer])");
        assertThat(error(iface("ListenPort 51820")))
                .isEqualTo("wg0.conf:3: line is neither 'Key = Value' nor a [Section] header");
        assertThat(error(iface("[Peer]", "PublicKey = " + PEER_A, "[Interface]", "PrivateKey = " + PRIVATE)))
                .isEqualTo("wg0.conf:5: second [Interface] section (the first is on line 1)");
    }

    @Test
    void eachErrorNamesFileAndLine() {
        assertThat(error(iface("ListenPort = 51820", "Frobnicate = yes")))
                .isEqualTo("wg0.conf:4: unknown key 'Frobnicate' in [Interface]");
        assertThat(error(iface("PublicKey = " + PEER_A)))
                .isEqualTo("wg0.conf:3: PublicKey belongs in [Peer], not in [Interface]");
        assertThat(error(iface("[Peer]", "PublicKey = " + PEER_A, "MTU = 1400")))
                .isEqualTo("wg0.conf:5: MTU belongs in [Interface], not in [Peer]");
        assertThat(error("[Interface]\nPrivateKey = " + PRIVATE.substring(1)))
                .isEqualTo("wg0.conf:2: PrivateKey is not a valid key: expected 44 base64 characters for 32 bytes");
        assertThat(error("[Interface]\nPrivateKey = " + PRIVATE.replace("=", "A")))
                .isEqualTo("wg0.conf:2: PrivateKey is not a valid key: expected 44 base64 characters for 32 bytes");
        assertThat(error("[Interface]\nPrivateKey = " + PRIVATE.replace('+', '-')))
                .isEqualTo("wg0.conf:2: PrivateKey is not a valid key: it is not base64 (A-Z, a-z, 0-9, '+' and '/', then one '=')");
        assertThat(error("[Interface]\nPrivateKey = " + PRIVATE.replace("k=", "l=")))
                .as("non-zero bits in the last character, which wg refuses too")
                .isEqualTo("wg0.conf:2: PrivateKey is not a valid key: it is not base64 (A-Z, a-z, 0-9, '+' and '/', then one '=')");
        assertThat(error(iface("[Peer]", "PublicKey = " + PEER_A, "PresharedKey = abc")))
                .isEqualTo("wg0.conf:5: PresharedKey is not a valid key: expected 44 base64 characters for 32 bytes");
        assertThat(error("[Interface]\nPrivateKey =   # secret goes here"))
                .isEqualTo("wg0.conf:2: PrivateKey has no value");
        assertThat(error(iface("ListenPort = 65536")))
                .isEqualTo("wg0.conf:3: ListenPort '65536' is not a UDP port number (0-65535)");
        assertThat(error(iface("ListenPort = abc")))
                .isEqualTo("wg0.conf:3: ListenPort 'abc' is not a UDP port number (0-65535)");
        assertThat(error(iface("ListenPort = -1")))
                .isEqualTo("wg0.conf:3: ListenPort '-1' is not a UDP port number (0-65535)");
        assertThat(error(iface("FwMark = 0x100000000")))
                .isEqualTo("wg0.conf:3: FwMark '0x100000000' is not a number (0-0xffffffff) or 'off'");
        assertThat(error(iface("MTU = 1500 bytes")))
                .isEqualTo("wg0.conf:3: MTU '1500 bytes' is not a number of bytes (68-65535)");
        assertThat(error(iface("MTU = 67")))
                .isEqualTo("wg0.conf:3: MTU '67' is not a number of bytes (68-65535)");
        assertThat(error(iface("Table = main table")))
                .isEqualTo("wg0.conf:3: Table 'main table' is not 'off', 'auto' or a routing table number or name");
        assertThat(error(iface("SaveConfig = yes")))
                .isEqualTo("wg0.conf:3: SaveConfig 'yes' is neither true nor false");
        assertThat(error(iface("DNS = 1.1.1.1, 10.0.0.256")))
                .isEqualTo("wg0.conf:3: DNS '10.0.0.256' is not an IP address");
        assertThat(error(iface("Address = 10.0.0.1/24, 10.0.0.300/24")))
                .isEqualTo("wg0.conf:3: Address '10.0.0.300/24' is not an IP address");
        assertThat(error(iface("Address = 10.0.0.1/33")))
                .isEqualTo("wg0.conf:3: Address '10.0.0.1/33': prefix 33 is out of range for IPv4 (0-32)");
    }

    @Test
    void peerErrors() {
        String peer = iface("", "[Peer]", "PublicKey = " + PEER_A);
        assertThat(error(peer + "AllowedIPs = 10.0.0.0/8, fd00::/129"))
                .isEqualTo("wg0.conf:6: AllowedIPs 'fd00::/129': prefix 129 is out of range for IPv6 (0-128)");
        assertThat(error(peer + "AllowedIPs = 10.0.0/8"))
                .isEqualTo("wg0.conf:6: AllowedIPs '10.0.0/8' is not an IP address");
        assertThat(error(peer + "Endpoint = vpn.example.net"))
                .isEqualTo("wg0.conf:6: Endpoint 'vpn.example.net' has no port (expected HOST:PORT or [IPv6]:PORT)");
        assertThat(error(peer + "Endpoint = [fd00::1]"))
                .isEqualTo("wg0.conf:6: Endpoint '[fd00::1]' has no port (expected HOST:PORT or [IPv6]:PORT)");
        assertThat(error(peer + "Endpoint = 192.0.2.1:0"))
                .isEqualTo("wg0.conf:6: Endpoint '192.0.2.1:0' has port '0', which is not a number from 1 to 65535");
        assertThat(error(peer + "Endpoint = 192.0.2.1:65536"))
                .isEqualTo("wg0.conf:6: Endpoint '192.0.2.1:65536' has port '65536', which is not a number from 1 to 65535");
        assertThat(error(peer + "Endpoint = [fd00::1]:abc"))
                .isEqualTo("wg0.conf:6: Endpoint '[fd00::1]:abc' has port 'abc', which is not a number from 1 to 65535");
        assertThat(error(peer + "PersistentKeepalive = soon"))
                .isEqualTo("wg0.conf:6: PersistentKeepalive 'soon' is not a number of seconds (1-65535) or 'off'");
        assertThat(error(peer + "PersistentKeepalive = 65536"))
                .isEqualTo("wg0.conf:6: PersistentKeepalive '65536' is not a number of seconds (1-65535) or 'off'");
        assertThat(error(iface("[Peer]", "AllowedIPs = 10.0.0.0/8", "[Peer]", "PublicKey = " + PEER_A)))
                .isEqualTo("wg0.conf:3: [Peer] has no PublicKey");
        assertThat(error(peer + "\n[Peer]\nPublicKey = " + PEER_B + "\n[Peer]\nAllowedIPs = 10.0.0.0/8\nPublicKey = " + PEER_A))
                .isEqualTo("wg0.conf:11: PublicKey is the same as that of the [Peer] on line 4");
        assertThat(error(peer + "[Interface]\nPrivateKey = " + PRIVATE))
                .isEqualTo("wg0.conf:6: second [Interface] section (the first is on line 1)");
    }

    @Test
    void errorsNeverRepeatKeyMaterial() {
        assertThat(error(iface("[Peer]", "PresharedKey " + PSK)))
                .isEqualTo("wg0.conf:4: line is neither 'Key = Value' nor a [Section] header");
        assertThat(error(iface("ListenPort = " + PRIVATE)))
                .isEqualTo("wg0.conf:3: ListenPort '(key hidden)' is not a UDP port number (0-65535)");
        assertThat(error(iface("Address = 10.0.0.1/24, " + PRIVATE.substring(0, 43))))
                .isEqualTo("wg0.conf:3: Address '(key hidden)' is not an IP address");
        assertThat(error(iface("[Peer]", "PublicKey = " + PEER_A, "Endpoint = " + PSK + ":1")))
                .isEqualTo("wg0.conf:5: Endpoint '(key hidden):1' does not start with a host name or IP address");
    }

    @Test
    void toStringHidesPrivateAndPresharedKeys() throws ConfigException {
        WgConfig c = WgConfig.parse(FULL, "wg0.conf");
        String text = c.toString();
        assertThat(text).doesNotContain(PRIVATE).doesNotContain(PSK)
                .doesNotContain(PRIVATE.substring(0, 10)).doesNotContain(PSK.substring(0, 10))
                .contains("PrivateKey=(hidden)").contains("PresharedKey=(hidden)").contains(PEER_A).contains(PEER_B)
                .contains("10.200.100.8/24").contains("[2001:db8::1]:51820");
        assertThat(c.interfaceSection().toString()).doesNotContain(PRIVATE);
        assertThat(c.peers().getFirst().toString()).doesNotContain(PSK);
    }

    @Test
    void keysAreCopiedAndRecordsCompareByContent() throws ConfigException {
        WgConfig c = WgConfig.parse(FULL, "wg0.conf");
        c.interfaceSection().privateKey()[0] ^= 1;
        c.peers().getFirst().presharedKey()[0] ^= 1;
        assertThat(c.interfaceSection().privateKey()).isEqualTo(b64(PRIVATE));
        assertThat(c.peers().getFirst().presharedKey()).isEqualTo(b64(PSK));
        assertThat(WgConfig.parse(FULL, "wg0.conf")).isEqualTo(c).hasSameHashCodeAs(c);
    }

    @Test
    void readsAFileAndNamesItInErrors(@TempDir Path dir) throws IOException, ConfigException {
        Path good = Files.writeString(dir.resolve("wg0.conf"), FULL);
        assertThat(WgConfig.parse(good).peers()).hasSize(2);
        Path bad = Files.writeString(dir.resolve("wg1.conf"), iface("MTU = big"));
        assertThatThrownBy(() -> WgConfig.parse(bad))
                .isInstanceOf(ConfigException.class)
                .hasMessage(bad + ":3: MTU 'big' is not a number of bytes (68-65535)")
                .satisfies(e -> {
                    ConfigException ce = (ConfigException) e;
                    assertThat(ce.source()).isEqualTo(bad.toString());
                    assertThat(ce.line()).isEqualTo(3);
                    assertThat(ce.problem()).isEqualTo("MTU 'big' is not a number of bytes (68-65535)");
                });
    }

    @Test
    void wholeFileErrorsHaveLineZero() {
        assertThatThrownBy(() -> WgConfig.parse("", "wg0.conf"))
                .isInstanceOfSatisfying(ConfigException.class, e -> {
                    assertThat(e.line()).isZero();
                    assertThat(e.source()).isEqualTo("wg0.conf");
                });
    }

    @Test
    void warnsWhenOthersCanReadTheFile(@TempDir Path dir) throws IOException {
        assumeThat(FileSystems.getDefault().supportedFileAttributeViews()).contains("posix");
        Path file = Files.writeString(dir.resolve("wg0.conf"), FULL);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
        assertThat(WgConfig.permissionWarning(file)).contains("Warning: '" + file + "' is world accessible");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r-----"));
        assertThat(WgConfig.permissionWarning(file)).contains("Warning: '" + file + "' is group accessible");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        assertThat(WgConfig.permissionWarning(file)).isEmpty();
        assertThat(WgConfig.permissionWarning(dir.resolve("missing.conf"))).isEmpty();
    }

    @Property
    void randomTextFailsOnlyWithConfigException(@ForAll("configs") String text) {
        try {
            WgConfig c = WgConfig.parse(text, "fuzz.conf");
            assertThat(c.toString()).doesNotContain(PRIVATE);
        } catch (ConfigException e) {
            assertThat(e.getMessage()).startsWith("fuzz.conf:").doesNotContain(PRIVATE).doesNotContain(PSK);
            assertThat(e.getMessage().chars()).noneMatch(Character::isISOControl);
        }
    }

    /** Lines that are mostly almost right, so that parsing gets past the first line. */
    @Provide
    Arbitrary<String> configs() {
        Arbitrary<String> key = Arbitraries.of("PrivateKey", "ListenPort", "FwMark", "Address", "DNS", "MTU", "Table",
                "PreUp", "PostUp", "PreDown", "PostDown", "SaveConfig", "PublicKey", "PresharedKey", "AllowedIPs",
                "Endpoint", "PersistentKeepalive", "privatekey", "Bogus", "");
        Arbitrary<String> value = Arbitraries.oneOf(
                Arbitraries.of(PRIVATE, PEER_A, PEER_B, PSK, "51820", "0", "off", "0x10", "true", "10.0.0.1/24",
                        "fd00::1/64", "[fd00::1]:51820", "host:1", "1.2.3.4:5", "auto", ""),
                Arbitraries.strings().withChars("0123456789abcdef:./[]=#%,- x+").ofMaxLength(30),
                Arbitraries.strings().all().ofMaxLength(30));
        Arbitrary<String> line = Arbitraries.oneOf(
                Arbitraries.of("[Interface]", "[Peer]", "[peer] # c", "[Nope]", "[", "", "# comment", "\r"),
                Combinators.combine(key, Arbitraries.of(" = ", "=", " ", " =# "), value).as((k, eq, v) -> k + eq + v),
                Arbitraries.strings().all().ofMaxLength(40));
        return line.list().ofMaxSize(12).map(lines -> String.join("\n", lines));
    }
}
