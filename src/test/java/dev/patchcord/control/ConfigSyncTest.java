package dev.patchcord.control;

import dev.patchcord.core.Cidr;
import dev.patchcord.core.wg.Keys;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class ConfigSyncTest {
    private static final String PRIV = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
    private static final String A = "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=";
    private static final String B = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
    private static final String C = "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=";

    private static WgConfig file(String peers) throws ConfigException {
        return WgConfig.parse("[Interface]\nPrivateKey = " + PRIV + "\nListenPort = 51820\n" + peers, "t.conf");
    }

    private static UapiDevice.PeerState peer(String key, String endpoint, int keepalive, String... ips) throws Exception {
        InetSocketAddress ep = endpoint == null ? null
                : new InetSocketAddress(InetAddress.getByName(endpoint.split(":")[0]), Integer.parseInt(endpoint.split(":")[1]));
        return new UapiDevice.PeerState(Keys.fromBase64(key), null, ep, 0, 0, 0, keepalive,
                java.util.Arrays.stream(ips).map(Cidr::parse).toList());
    }

    private static UapiDevice.DeviceState device(UapiDevice.PeerState... peers) {
        return new UapiDevice.DeviceState(Keys.fromBase64(PRIV), 51820, 0, List.of(peers));
    }

    private static String hex(String b64) {
        return Keys.toHex(Keys.fromBase64(b64));
    }

    @Test
    void anUnchangedFileChangesNothing() throws Exception {
        WgConfig f = file("[Peer]\nPublicKey = " + A + "\nAllowedIPs = 10.0.0.2/32, 10.1.0.0/16\nEndpoint = 192.0.2.1:51820\n");
        ConfigSync s = ConfigSync.plan(f, device(peer(A, "192.0.2.1:51820", 0, "10.1.0.0/16", "10.0.0.2/32")), Set.of());
        assertThat(s.body()).isEmpty();
        assertThat(s.added() + s.removed() + s.changed()).isZero();
    }

    @Test
    void onlyWhatChangedIsSentAndUnchangedPeersAreNotNamed() throws Exception {
        WgConfig f = file("""
                [Peer]
                PublicKey = %s
                AllowedIPs = 10.0.0.2/32
                [Peer]
                PublicKey = %s
                AllowedIPs = 10.0.0.3/32
                PersistentKeepalive = 25
                [Peer]
                PublicKey = %s
                AllowedIPs = 10.0.0.4/32
                """.formatted(A, B, C));
        ConfigSync s = ConfigSync.plan(f, device(peer(A, null, 0, "10.0.0.2/32"), peer(B, null, 0, "10.0.0.3/32"),
                peer("UHJvZHVjdGlvbktleUZvclRlc3RpbmdPbmx5MTIzNDU=", null, 0, "10.0.0.9/32")), Set.of());
        assertThat(s.body()).doesNotContain(hex(A));
        assertThat(s.body()).contains("public_key=" + hex(B) + "\npersistent_keepalive_interval=25\n");
        assertThat(s.body()).contains("public_key=" + hex(C) + "\nreplace_allowed_ips=true\nallowed_ip=10.0.0.4/32\n");
        assertThat(s.body()).contains("remove=true");
        assertThat(List.of(s.added(), s.removed(), s.changed())).containsExactly(1, 1, 1);
        // What it writes is a set request the UAPI parser accepts.
        assertThat(UapiProtocol.parseSet(s.body())).isNotNull();
    }

    @Test
    void peersToKeepAreNotRemovedThoughTheFileLacksThem() throws Exception {
        ConfigSync s = ConfigSync.plan(file(""), device(peer(A, null, 0), peer(B, null, 0)), Set.of(A));
        assertThat(s.body()).isEqualTo("public_key=" + hex(B) + "\nremove=true\n");
    }

    @Test
    void keyPortPresharedKeyEndpointAndAllowedIpsChanges() throws Exception {
        String psk = "cMDtDWv7CMQfcrjnNtlkH2TfywimfQJEFoy0yaeoO9k=";
        WgConfig f = WgConfig.parse("[Interface]\nPrivateKey = " + A + "\nListenPort = 51999\n[Peer]\nPublicKey = " + B
                + "\nPresharedKey = " + psk + "\nEndpoint = 192.0.2.7:1234\nAllowedIPs = 10.0.0.0/24\n", "t.conf");
        ConfigSync s = ConfigSync.plan(f, device(peer(B, "192.0.2.1:51820", 0, "10.0.0.3/32")), Set.of());
        assertThat(s.body()).startsWith("private_key=" + hex(A) + "\nlisten_port=51999\n");
        assertThat(s.body()).contains("preshared_key=" + hex(psk) + "\n", "endpoint=192.0.2.7:1234\n",
                "replace_allowed_ips=true\nallowed_ip=10.0.0.0/24\n");
        assertThat(s.changed()).isEqualTo(1);
    }

    @Test
    void settingsThatNeedARestartAreNamed() throws Exception {
        WgConfig before = WgConfig.parse("[Interface]\nPrivateKey = " + PRIV + "\nAddress = 10.0.0.1/24\nMTU = 1420\n", "t");
        WgConfig after = WgConfig.parse("[Interface]\nPrivateKey = " + PRIV + "\nAddress = 10.0.0.1/16\nMTU = 1420\n"
                + "PostUp = true\n", "t");
        assertThat(ConfigSync.restartNeeded(before.interfaceSection(), after.interfaceSection()))
                .containsExactly("Address", "PreUp/PostUp/PreDown/PostDown");
        assertThat(ConfigSync.restartNeeded(before.interfaceSection(), before.interfaceSection())).isEmpty();
    }

    @Test
    void aGetReplyReadsBackToTheSameState() throws Exception {
        var state = device(peer(A, "192.0.2.1:51820", 25, "10.0.0.2/32", "fd00::/64"), peer(B, null, 0));
        var back = UapiGetReply.parse(UapiProtocol.formatGet(state));
        assertThat(back.peers()).hasSize(2);
        assertThat(back.peers().get(0).endpoint()).isEqualTo(state.peers().get(0).endpoint());
        assertThat(back.peers().get(0).allowedIps()).extracting(Object::toString).containsExactly("10.0.0.2/32", "fd00::/64");
        assertThat(back.peers().get(0).persistentKeepalive()).isEqualTo(25);
        assertThat(back.listenPort()).isEqualTo(51820);
        assertThat(ConfigSync.plan(file("[Peer]\nPublicKey = " + A + "\nAllowedIPs = 10.0.0.2/32, fd00::/64\n"
                + "Endpoint = 192.0.2.1:51820\nPersistentKeepalive = 25\n[Peer]\nPublicKey = " + B + "\n"), back, Set.of()).body())
                .isEmpty();
    }

    @Test
    void aClusterHubsStoreClientsAreLeftAloneThoughTheFileLacksThem() throws Exception {
        var a = peer(A, null, 0);
        var stored = new UapiDevice.PeerState(a.publicKey(), null, null, 0, 0, 0, 0, a.allowedIps(),
                java.util.Map.of(ClusterUapiDevice.CLUSTER, "client"));
        ConfigSync s = ConfigSync.plan(file(""), device(stored, peer(B, null, 0)), Set.of());
        assertThat(s.removed()).isEqualTo(1);
        assertThat(s.body()).doesNotContain(Keys.toHex(Keys.fromBase64(A)));
    }
}
