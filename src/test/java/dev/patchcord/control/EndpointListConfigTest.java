package dev.patchcord.control;

import dev.patchcord.core.Cidr;
import dev.patchcord.core.wg.Keys;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code Endpoint = a:51820, b:51820}: read, written back, and left alone by a reload. */
class EndpointListConfigTest {
    private static final String A = WgConfigTest.PEER_A;

    private static String peer(String endpointLine) {
        return WgConfigTest.iface("", "[Peer]", "PublicKey = " + A, "AllowedIPs = 10.0.0.0/24", endpointLine);
    }

    private static WgPeerSection parse(String endpointLine) throws ConfigException {
        return WgConfig.parse(peer(endpointLine), "wg0.conf").peers().getFirst();
    }

    @Test
    void aListIsKeptInOrderAndTheFirstIsTheEndpoint() throws ConfigException {
        WgPeerSection p = parse("Endpoint = hub-b.example.net:51820, 192.0.2.1:4500, [2001:db8::7]:51820");
        assertThat(p.endpoints()).containsExactly(new Endpoint("hub-b.example.net", 51820),
                new Endpoint("192.0.2.1", 4500), new Endpoint("2001:db8::7", 51820));
        assertThat(p.endpoint()).isEqualTo(new Endpoint("hub-b.example.net", 51820));
        assertThat(p.endpointsText()).isEqualTo("hub-b.example.net:51820, 192.0.2.1:4500, [2001:db8::7]:51820");
        assertThat(p.toString()).contains("Endpoint=hub-b.example.net:51820, 192.0.2.1:4500, [2001:db8::7]:51820");
    }

    @Test
    void whiteSpaceGoesAsInWg() throws ConfigException {
        WgPeerSection p = parse("Endpoint =  192.0.2.1 : 51820 ,\t[ fd00::1 ]:1,b . example:2  ");
        assertThat(p.endpoints()).containsExactly(new Endpoint("192.0.2.1", 51820), new Endpoint("fd00::1", 1),
                new Endpoint("b.example", 2));
    }

    @Test
    void aListOfOneIsAnEndpointAsBefore() throws ConfigException {
        WgPeerSection p = parse("Endpoint = 192.0.2.1:51820");
        assertThat(p.endpoints()).containsExactly(new Endpoint("192.0.2.1", 51820));
        assertThat(p.endpoint()).isEqualTo(new Endpoint("192.0.2.1", 51820));
        WgPeerSection none = WgConfig.parse(WgConfigTest.iface("[Peer]", "PublicKey = " + A), "x").peers().getFirst();
        assertThat(none.endpoints()).isEmpty();
        assertThat(none.endpoint()).isNull();
        assertThat(none.toString()).contains("Endpoint=none");
    }

    @Test
    void aSecondLineReplacesTheList() throws ConfigException {
        String text = peer("Endpoint = 192.0.2.1:1, 192.0.2.2:2") + "Endpoint = 192.0.2.3:3\n";
        assertThat(WgConfig.parse(text, "x").peers().getFirst().endpoints()).containsExactly(new Endpoint("192.0.2.3", 3));
    }

    @Test
    void aBadEntryIsNamed() {
        assertThat(WgConfigTest.error(peer("Endpoint = 192.0.2.1:51820, vpn.example.net")))
                .isEqualTo("wg0.conf:7: Endpoint 'vpn.example.net' has no port (expected HOST:PORT or [IPv6]:PORT)");
        assertThat(WgConfigTest.error(peer("Endpoint = 10.0.0.300:51820,192.0.2.1:1")))
                .isEqualTo("wg0.conf:7: Endpoint '10.0.0.300:51820' does not start with a host name or IP address");
        assertThat(WgConfigTest.error(peer("Endpoint = 192.0.2.1:1, [fd00::1]:abc")))
                .isEqualTo("wg0.conf:7: Endpoint '[fd00::1]:abc' has port 'abc', which is not a number from 1 to 65535");
        assertThat(WgConfigTest.error(peer("Endpoint = 192.0.2.1:1, [fd00::1:2")))
                .isEqualTo("wg0.conf:7: Endpoint '[fd00::1:2' has no ']' to end the IPv6 address");
        assertThat(WgConfigTest.error(peer("Endpoint = 192.0.2.1:1,,192.0.2.2:1")))
                .isEqualTo("wg0.conf:7: Endpoint '192.0.2.1:1,,192.0.2.2:1' has an empty entry"
                        + " (expected HOST:PORT, HOST:PORT, ...)");
        assertThat(WgConfigTest.error(peer("Endpoint = 192.0.2.1:1,")))
                .startsWith("wg0.conf:7: Endpoint '192.0.2.1:1,' has an empty entry");
        assertThat(WgConfigTest.error(peer("Endpoint = [fd00::1]:7, fd00::1:7")))
                .isEqualTo("wg0.conf:7: Endpoint 'fd00::1:7' is listed twice");
        assertThat(WgConfigTest.error(peer("Endpoint = ,")))
                .startsWith("wg0.conf:7: Endpoint ',' has an empty entry");
    }

    @Test
    void saveConfigWritesTheListAsGivenAndOneEndpointAsItIsNow() throws Exception {
        WgConfig c = WgConfig.parse(peer("Endpoint = hub-a.example:51820, [fd00::2]:51820"), "x");
        InetSocketAddress inUse = new InetSocketAddress(InetAddress.getByName("fd00::2"), 51820);
        UapiDevice.PeerState listed = new UapiDevice.PeerState(Keys.fromBase64(A), null, inUse, 0, 0, 0, 0,
                List.of(Cidr.parse("10.0.0.0/24")), Map.of(WgUapiDevice.ENDPOINTS, c.peers().getFirst().endpointsText()));
        String text = WgConfigWriter.render(c.interfaceSection(), state(c, listed));
        assertThat(text).contains("Endpoint = hub-a.example:51820, [fd00::2]:51820\n");
        assertThat(WgConfig.parse(text, "again").peers().getFirst().endpoints())
                .isEqualTo(c.peers().getFirst().endpoints());

        UapiDevice.PeerState single = new UapiDevice.PeerState(Keys.fromBase64(A), null, inUse, 0, 0, 0, 0,
                List.of(Cidr.parse("10.0.0.0/24")));
        assertThat(WgConfigWriter.render(c.interfaceSection(), state(c, single))).contains("Endpoint = [fd00::2]:51820\n");
    }

    @Test
    void aReloadLeavesAnUnchangedListOnTheEntryInUse() throws Exception {
        WgConfig f = WgConfig.parse(peer("Endpoint = 192.0.2.1:51820, 192.0.2.2:51820"), "x");
        InetSocketAddress second = new InetSocketAddress(InetAddress.getByName("192.0.2.2"), 51820);
        UapiDevice.PeerState now = new UapiDevice.PeerState(Keys.fromBase64(A), null, second, 0, 0, 0, 0,
                List.of(Cidr.parse("10.0.0.0/24")), Map.of(WgUapiDevice.ENDPOINTS, "192.0.2.1:51820, 192.0.2.2:51820"));
        assertThat(ConfigSync.plan(f, state(f, now), Set.of()).body()).isEmpty();

        WgConfig changed = WgConfig.parse(peer("Endpoint = 192.0.2.3:51820, 192.0.2.2:51820"), "x");
        assertThat(ConfigSync.plan(changed, state(f, now), Set.of()).body()).contains("endpoint=192.0.2.3:51820\n");
    }

    @Test
    void aGetReplyKeepsTheList() throws Exception {
        UapiDevice.PeerState p = new UapiDevice.PeerState(Keys.fromBase64(A), null,
                new InetSocketAddress(InetAddress.getByName("192.0.2.2"), 51820), 0, 0, 0, 0, List.of(),
                Map.of(WgUapiDevice.ENDPOINTS, "a.example:1, 192.0.2.2:51820"));
        WgConfig c = WgConfig.parse(peer(""), "x");
        String reply = UapiProtocol.formatGet(state(c, p));
        assertThat(reply).contains("endpoint=192.0.2.2:51820\n").contains("patchcord_endpoints=a.example:1, 192.0.2.2:51820\n");
        UapiDevice.PeerState back = UapiGetReply.parse(reply)
                .peers().getFirst();
        assertThat(back.extensions()).containsEntry(WgUapiDevice.ENDPOINTS, "a.example:1, 192.0.2.2:51820");
    }

    private static UapiDevice.DeviceState state(WgConfig c, UapiDevice.PeerState p) {
        return new UapiDevice.DeviceState(c.interfaceSection().privateKey(), 51820, 0, List.of(p));
    }
}
