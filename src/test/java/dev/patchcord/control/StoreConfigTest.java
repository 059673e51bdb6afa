package dev.patchcord.control;

import dev.patchcord.cluster.StoreSettings;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.util.List;

import static dev.patchcord.control.WgConfigTest.error;
import static dev.patchcord.control.WgConfigTest.iface;
import static org.assertj.core.api.Assertions.assertThat;

/** patchcord's Store, Cluster, StoreCA, StoreCert and StoreKey in [Interface]. */
class StoreConfigTest {

    private static StoreSettings store(String... lines) throws ConfigException {
        return WgConfig.parse(iface(lines), "wg0.conf").interfaceSection().store();
    }

    @Test
    void noStoreKeysNoSettings() throws ConfigException {
        assertThat(store("ListenPort = 51820")).isNull();
    }

    @Test
    void oneEndpointPlainHttp() throws ConfigException {
        StoreSettings s = store("Store = etcd://10.0.0.5:2379", "Cluster = office-1");
        assertThat(s.endpoints()).containsExactly("10.0.0.5:2379");
        assertThat(s.cluster()).isEqualTo("office-1");
        assertThat(s.tls()).isFalse();
        assertThat(s.uris()).containsExactly(URI.create("http://10.0.0.5:2379"));
        assertThat(s.prefix()).isEqualTo("/patchcord/office-1/");
    }

    @Test
    void severalEndpointsNamesAndIpv6WithTls() throws ConfigException {
        StoreSettings s = store("store = ETCD://etcd1.example.net:2379, [fd00::5]:2379 ,10.0.0.7:2380",
                "CLUSTER = c", "StoreCA = /etc/patchcord/etcd-ca.pem", "StoreCert = /etc/patchcord/hub.pem",
                "StoreKey = /etc/patchcord/hub.key");
        assertThat(s.endpoints()).containsExactly("etcd1.example.net:2379", "[fd00::5]:2379", "10.0.0.7:2380");
        assertThat(s.tls()).isTrue();
        assertThat(s.uris()).containsExactly(URI.create("https://etcd1.example.net:2379"),
                URI.create("https://[fd00::5]:2379"), URI.create("https://10.0.0.7:2380"));
        assertThat(s.caFile()).isEqualTo("/etc/patchcord/etcd-ca.pem");
        assertThat(s.certFile()).isEqualTo("/etc/patchcord/hub.pem");
        assertThat(s.keyFile()).isEqualTo("/etc/patchcord/hub.key");
    }

    @Test
    void aCaAloneIsServerAuthenticationOnly() throws ConfigException {
        StoreSettings s = store("Store = etcd://10.0.0.5:2379", "Cluster = office", "StoreCA = ca.pem");
        assertThat(s.tls()).isTrue();
        assertThat(s.certFile()).isNull();
    }

    @Test
    void badValuesHaveOneLineErrors() {
        assertThat(error(iface("Store = http://10.0.0.5:2379", "Cluster = a")))
                .isEqualTo("wg0.conf:3: Store 'http://10.0.0.5:2379' is not etcd://HOST:PORT[,HOST:PORT...]");
        assertThat(error(iface("Store = etcd://10.0.0.5", "Cluster = a")))
                .isEqualTo("wg0.conf:3: Store endpoint '10.0.0.5' is not HOST:PORT (port 1-65535)");
        assertThat(error(iface("Store = etcd://10.0.0.5:70000", "Cluster = a")))
                .isEqualTo("wg0.conf:3: Store endpoint '10.0.0.5:70000' is not HOST:PORT (port 1-65535)");
        assertThat(error(iface("Store = etcd://10.0.0.5:2379/v3", "Cluster = a")))
                .isEqualTo("wg0.conf:3: Store endpoint '10.0.0.5:2379/v3' is not HOST:PORT (port 1-65535)");
        assertThat(error(iface("Store = etcd://a:1,,b:2", "Cluster = a")))
                .isEqualTo("wg0.conf:3: Store 'etcd://a:1,,b:2' has an empty endpoint");
        assertThat(error(iface("Store =", "Cluster = a")))
                .isEqualTo("wg0.conf:3: Store has no value");
        assertThat(error(iface("Store = etcd://a:1", "Cluster = Office")))
                .isEqualTo("wg0.conf:4: Cluster 'Office' is not 1-63 of a-z, 0-9 and '-'");
        assertThat(error(iface("Store = etcd://a:1", "Cluster = a/b")))
                .isEqualTo("wg0.conf:4: Cluster 'a/b' is not 1-63 of a-z, 0-9 and '-'");
        assertThat(error(iface("Store = etcd://a:1", "Cluster = " + "a-".repeat(32))))
                .as("64 characters, one too many")
                .isEqualTo("wg0.conf:4: Cluster '" + "a-".repeat(32) + "' is not 1-63 of a-z, 0-9 and '-'");
    }

    @Test
    void keysThatNeedOthers() {
        assertThat(error(iface("Store = etcd://a:1")))
                .isEqualTo("wg0.conf:1: Store needs Cluster (the network's name in the store)");
        assertThat(error(iface("Cluster = office")))
                .isEqualTo("wg0.conf:1: Cluster needs Store (etcd://HOST:PORT)");
        assertThat(error(iface("StoreCA = ca.pem")))
                .isEqualTo("wg0.conf:1: StoreCA needs Store (etcd://HOST:PORT)");
        assertThat(error(iface("Store = etcd://a:1", "Cluster = c", "StoreCA = ca.pem", "StoreCert = hub.pem")))
                .isEqualTo("wg0.conf:1: StoreCert needs StoreKey");
        assertThat(error(iface("Store = etcd://a:1", "Cluster = c", "StoreCA = ca.pem", "StoreKey = hub.key")))
                .isEqualTo("wg0.conf:1: StoreKey needs StoreCert");
        assertThat(error(iface("Store = etcd://a:1", "Cluster = c", "StoreCert = hub.pem", "StoreKey = hub.key")))
                .isEqualTo("wg0.conf:1: StoreCert needs StoreCA (a client certificate is only sent over TLS)");
    }

    @Test
    void settingsSurviveSaveConfigAndCountAsRestartNeeded() throws ConfigException {
        WgConfig a = WgConfig.parse(iface("Store = etcd://a:1,b:2", "Cluster = c", "StoreCA = ca.pem",
                "StoreCert = hub.pem", "StoreKey = hub.key"), "a.conf");
        WgConfig b = WgConfig.parse(iface("Store = etcd://a:1", "Cluster = c"), "b.conf");
        assertThat(ConfigSync.restartNeeded(a.interfaceSection(), b.interfaceSection()))
                .containsExactly("Store/Cluster/StoreCA/StoreCert/StoreKey");
        assertThat(ConfigSync.restartNeeded(a.interfaceSection(), a.interfaceSection())).isEmpty();
        assertThat(a.interfaceSection()).isNotEqualTo(b.interfaceSection());
        assertThat(a.interfaceSection().store()).isEqualTo(new StoreSettings(List.of("a:1", "b:2"), "c", "ca.pem",
                "hub.pem", "hub.key"));
        String saved = WgConfigWriter.render(a.interfaceSection(),
                new UapiDevice.DeviceState(a.interfaceSection().privateKey(), 0, 0, List.of()));
        assertThat(WgConfig.parse(saved, "saved.conf").interfaceSection().store()).isEqualTo(a.interfaceSection().store());
    }

    @Test
    void aHubsIdAndBackplane() throws ConfigException {
        StoreSettings s = store("Store = etcd://10.0.0.5:2379", "Cluster = office", "HubId = hub-2",
                "Backplane = 192.0.2.1:51821");
        assertThat(s.hubId()).isEqualTo("hub-2");
        assertThat(s.backplane()).isEqualTo("192.0.2.1:51821");
        assertThat(store("Store = etcd://a:1", "Cluster = c", "Backplane = [2001:db8::1]:51821").backplane())
                .isEqualTo("[2001:db8::1]:51821");
        assertThat(store("Store = etcd://a:1", "Cluster = c").hubId()).isNull();
        assertThat(error(iface("Store = etcd://a:1", "Cluster = c", "HubId = Hub_2")))
                .isEqualTo("wg0.conf:1: HubId 'Hub_2' is not 1-63 of a-z, 0-9 and '-'");
        assertThat(error(iface("HubId = hub-2"))).isEqualTo("wg0.conf:1: HubId needs Store (etcd://HOST:PORT)");
        assertThat(error(iface("Backplane = 192.0.2.1:51821"))).isEqualTo("wg0.conf:1: Backplane needs Store (etcd://HOST:PORT)");
        assertThat(error(iface("Store = etcd://a:1", "Cluster = c", "Backplane = 192.0.2.1"))).startsWith("wg0.conf:");
        WgConfig a = WgConfig.parse(iface("Store = etcd://a:1", "Cluster = c", "HubId = h1", "Backplane = 192.0.2.1:51821"),
                "a.conf");
        String saved = WgConfigWriter.render(a.interfaceSection(),
                new UapiDevice.DeviceState(a.interfaceSection().privateKey(), 0, 0, List.of()));
        assertThat(WgConfig.parse(saved, "saved.conf").interfaceSection().store()).isEqualTo(a.interfaceSection().store());
    }
}
