package dev.patchcord.control;

import dev.patchcord.core.Cidr;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** patchcord's {@code [Pool]} section and {@code Address = auto}. */
class PoolConfigTest {
    static final String PRIVATE = WgConfigTest.PRIVATE;
    static final String PEER_A = WgConfigTest.PEER_A;

    private static WgConfig parse(String text) throws ConfigException {
        return WgConfig.parse(text, "srv.conf");
    }

    private static String server(String pool) {
        return "[Interface]\nPrivateKey = " + PRIVATE + "\nAddress = 10.9.0.1/24\n" + pool
                + "\n[Peer]\nPublicKey = " + PEER_A + "\n";
    }

    @Test
    void readsAPoolWithDefaults() throws ConfigException {
        PoolSection p = parse(server("[Pool]\nRange = 10.9.0.0/24")).interfaceSection().pool();
        assertThat(p.v4Range()).contains(Cidr.parse("10.9.0.0/24"));
        assertThat(p.v6Prefix()).isEmpty();
        assertThat(p.leaseSeconds()).isEqualTo(3600);
        assertThat(p.deadPeerSeconds()).isEqualTo(300);
        assertThat(p.routes()).isEmpty();
        assertThat(p.leaseFile("wg0")).isEqualTo(Path.of("/var/lib/patchcord/wg0.leases"));
    }

    @Test
    void readsEveryPoolKeyCaseInsensitively() throws ConfigException {
        WgConfig c = parse(server("""
                [pool]
                range = 10.9.0.0/24, fd00:9::/64   # both families
                LeaseTime = 60
                DeadPeerTimeout = 0
                Routes = 192.168.50.0/24, 10.20.0.0/16
                LeaseFile = /tmp/x.leases
                """));
        PoolSection p = c.interfaceSection().pool();
        assertThat(p.ranges()).containsExactly(Cidr.parse("10.9.0.0/24"), Cidr.parse("fd00:9::/64"));
        assertThat(p.leaseSeconds()).isEqualTo(60);
        assertThat(p.deadPeerSeconds()).isZero();
        assertThat(p.routes()).containsExactly(Cidr.parse("192.168.50.0/24"), Cidr.parse("10.20.0.0/16"));
        assertThat(p.leaseFile("wg0")).isEqualTo(Path.of("/tmp/x.leases"));
        assertThat(c.peers()).hasSize(1);
        assertThat(c.interfaceSection().addressMode()).isEqualTo(AddressMode.POOL);
    }

    @Test
    void poolErrorsNameFileAndLine() {
        assertThatThrownBy(() -> parse(server("[Pool]\nLeaseTime = 60")))
                .hasMessage("srv.conf:4: [Pool] has no Range");
        assertThatThrownBy(() -> parse(server("[Pool]\nRange = 10.9.0.0/24\nLeaseTime = 0")))
                .hasMessage("srv.conf:6: LeaseTime 0 is out of range (1-4294967295 seconds)");
        assertThatThrownBy(() -> parse(server("[Pool]\nRange = 10.9.0.0/24\nLeaseTime = soon")))
                .hasMessage("srv.conf:6: LeaseTime 'soon' is not a number of seconds");
        assertThatThrownBy(() -> parse(server("[Pool]\nRange = 10.9.0.0/24, 10.8.0.0/24")))
                .hasMessageStartingWith("srv.conf:5: Range has two IPv4 prefixes");
        assertThatThrownBy(() -> parse(server("[Pool]\nRange = 10.9.0.0/24\nRoutes = 192.168.50.1/24")))
                .hasMessage("srv.conf:6: Routes 192.168.50.1/24 has host bits set (did you mean 192.168.50.0/24?)");
        assertThatThrownBy(() -> parse(server("[Pool]\nRange = 10.9.0.0/24\nPublicKey = " + PEER_A)))
                .hasMessage("srv.conf:6: PublicKey belongs in [Peer], not in [Pool]");
        assertThatThrownBy(() -> parse(server("[Pool]\nRange = 10.9.0.0/24\nColour = red")))
                .hasMessage("srv.conf:6: unknown key 'Colour' in [Pool]");
        assertThatThrownBy(() -> parse(server("[Pool]\nRange = 10.9.0.0/24\n[Pool]\nRange = 10.8.0.0/24")))
                .hasMessage("srv.conf:6: second [Pool] section (the first is on line 4)");
        assertThatThrownBy(() -> parse(server("[Pool]\nRange = banana")))
                .hasMessageStartingWith("srv.conf:5: Range 'banana'");
    }

    private static String client(String address) {
        return "[Interface]\nPrivateKey = " + PRIVATE + "\nAddress = " + address
                + "\n[Peer]\nPublicKey = " + PEER_A + "\nAllowedIPs = 10.9.0.0/24\n";
    }

    @Test
    void addressAutoAloneAsksForAny() throws ConfigException {
        WgInterfaceSection i = parse(client("auto")).interfaceSection();
        assertThat(i.addressMode()).isEqualTo(AddressMode.AUTO);
        assertThat(i.requestedAddresses()).isEmpty();
        assertThat(i.addresses()).isEmpty();
        assertThat(i.pool()).isNull();
    }

    @Test
    void addressAutoWithBareAddressesAsksForThemAndKeepsPrefixedOnesFixed() throws ConfigException {
        WgInterfaceSection i = parse(client("AUTO, 10.9.0.7, fd00:9::7, 192.168.1.5/24")).interfaceSection();
        assertThat(i.addressMode()).isEqualTo(AddressMode.AUTO);
        assertThat(i.requestedAddresses()).containsExactly(Cidr.parseAddress("10.9.0.7"), Cidr.parseAddress("fd00:9::7"));
        assertThat(i.addresses()).containsExactly(Cidr.parse("192.168.1.5/24"));
        // Without auto, a bare address is a fixed /32 as in wg-quick.
        assertThat(parse(client("10.9.0.7")).interfaceSection().addresses()).containsExactly(Cidr.parse("10.9.0.7/32"));
        assertThat(parse(client("10.9.0.7")).interfaceSection().addressMode()).isEqualTo(AddressMode.STATIC);
    }

    @Test
    void addressAutoErrorsNameFileAndLine() {
        assertThatThrownBy(() -> parse(client("auto, 10.9.0.7, 10.9.0.8")))
                .hasMessage("srv.conf:3: Address = auto asks for two IPv4 addresses (10.9.0.7 and 10.9.0.8);"
                        + " a client leases one of each family");
        assertThatThrownBy(() -> parse(client("auto, bogus")))
                .hasMessage("srv.conf:3: Address 'bogus' is neither 'auto' nor an IP address to ask the server for");
        assertThatThrownBy(() -> parse(client("auto, 0.0.0.0")))
                .hasMessage("srv.conf:3: Address = auto cannot ask for the unspecified address 0.0.0.0");
        assertThatThrownBy(() -> parse("[Interface]\nPrivateKey = " + PRIVATE + "\nAddress = auto\n"))
                .hasMessage("srv.conf:1: Address = auto needs a [Peer] to ask (the first one is the address server)");
        assertThatThrownBy(() -> parse(client("auto") + "[Pool]\nRange = 10.9.0.0/24\n"))
                .hasMessageStartingWith("srv.conf:7: [Pool] and Address = auto together");
    }

    @Test
    void savedConfigurationKeepsAutoAndPool() throws ConfigException {
        WgConfig c = parse(client("auto, 10.9.0.7"));
        String text = WgConfigWriter.render(c.interfaceSection(),
                new UapiDevice.DeviceState(c.interfaceSection().privateKey(), 0, 0, List.of(), java.util.Map.of()));
        assertThat(text).contains("Address = auto, 10.9.0.7\n");
        WgConfig s = parse(server("[Pool]\nRange = 10.9.0.0/24\nRoutes = 192.168.50.0/24"));
        String st = WgConfigWriter.render(s.interfaceSection(),
                new UapiDevice.DeviceState(s.interfaceSection().privateKey(), 0, 0, List.of(), java.util.Map.of()));
        assertThat(st).contains("[Pool]\nRange = 10.9.0.0/24\nLeaseTime = 3600\nDeadPeerTimeout = 300\nRoutes = 192.168.50.0/24\n");
        assertThat(Optional.ofNullable(parse(st).interfaceSection().pool())).isPresent();
    }
}
