package dev.patchcord.cluster;

import dev.patchcord.core.Cidr;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class StoreValuesTest {
    static byte[] key(int seed) {
        byte[] k = new byte[32];
        Arrays.fill(k, (byte) seed);
        k[0] = (byte) 0xfb; // URL-safe and standard base64 differ for this byte
        return k;
    }

    private static String text(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void clientHasAFixedReadableForm() {
        ClusterClient c = new ClusterClient(key(1), "Anna's laptop = ü", List.of(Cidr.parse("10.0.0.2/32"),
                Cidr.parse("fd00::2/128")), key(2));
        String stored = text(StoreValues.client(c));
        assertThat(stored).isEqualTo("name=Anna's laptop = ü\nallowed-ips=10.0.0.2/32,fd00::2/128\npreshared-key="
                + java.util.Base64.getEncoder().encodeToString(key(2)) + "\n");
        assertThat(StoreValues.readClient(key(1), bytes(stored))).isEqualTo(c);
    }

    @Test
    void clientWithoutAddressesOrPresharedKey() {
        ClusterClient c = new ClusterClient(key(1), "", List.of(), null);
        assertThat(text(StoreValues.client(c))).isEqualTo("name=\nallowed-ips=\n");
        assertThat(StoreValues.readClient(key(1), StoreValues.client(c))).isEqualTo(c);
    }

    @Test
    void unknownNamesAreIgnoredForLaterVersions() {
        assertThat(StoreValues.readClient(key(1), bytes("name=a\nsince=2031\nallowed-ips=10.0.0.2/32\n")))
                .isEqualTo(new ClusterClient(key(1), "a", List.of(Cidr.parse("10.0.0.2/32")), null));
    }

    @Test
    void malformedValuesAreRefused() {
        assertThatThrownBy(() -> StoreValues.readClient(key(1), bytes("name=a\n")))
                .hasMessage("stored value has no 'allowed-ips'");
        assertThatThrownBy(() -> StoreValues.readClient(key(1), bytes("name=a\nname=b\nallowed-ips=\n")))
                .hasMessage("stored value names 'name' twice");
        assertThatThrownBy(() -> StoreValues.readClient(key(1), bytes("name=a\nallowed-ips=\nbroken\n")))
                .hasMessage("stored value has a line that is not name=value");
        assertThatThrownBy(() -> StoreValues.readClient(key(1), bytes("name=a\nallowed-ips=")))
                .hasMessage("stored value does not end in a line break (cut short?)");
        assertThatThrownBy(() -> StoreValues.readClient(key(1), bytes("name=a\nallowed-ips=10.0.0.300/32\n")))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> StoreValues.readClient(key(1), bytes("name=a\nallowed-ips=\npreshared-key=%%\n")))
                .hasMessage("stored preshared-key is not base64");
        assertThatThrownBy(() -> StoreValues.readHub("h", bytes("endpoint=a:1\npublic-key=AAAA\n")))
                .hasMessage("backplane public key must be 32 bytes");
    }

    @Test
    void aNameCannotForgeALine() {
        assertThatThrownBy(() -> new ClusterClient(key(1), "x\npreshared-key=AAAA", List.of(), null))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void leaseHubAndAttachmentRoundTrip() {
        assertThat(text(StoreValues.lease(key(3)))).isEqualTo("client=" + StoreKeys.encodeKey(key(3)) + "\n");
        assertThat(text(StoreValues.lease(key(3)))).doesNotContain("+").doesNotContain("/");
        assertThat(StoreValues.readLease(StoreValues.lease(key(3)))).isEqualTo(key(3));
        HubRecord h = new HubRecord("hub-a", "[2001:db8::1]:51821", key(4));
        assertThat(text(StoreValues.hub(h))).isEqualTo("endpoint=[2001:db8::1]:51821\npublic-key="
                + java.util.Base64.getEncoder().encodeToString(key(4)) + "\n");
        assertThat(StoreValues.readHub("hub-a", StoreValues.hub(h))).isEqualTo(h);
        assertThat(text(StoreValues.attach("hub-a"))).isEqualTo("hub=hub-a\n");
        assertThat(StoreValues.readAttach(StoreValues.attach("hub-a"))).isEqualTo("hub-a");
        assertThatThrownBy(() -> StoreValues.readAttach(bytes("hub=../x\n"))).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void anAttachmentCarriesTheClientsLastEndpoint() {
        Attachment a = new Attachment("hub-a", "[2001:db8::7]:40000");
        assertThat(text(StoreValues.attach(a))).isEqualTo("hub=hub-a\nendpoint=[2001:db8::7]:40000\n");
        assertThat(StoreValues.readAttachment(StoreValues.attach(a))).isEqualTo(a);
        // An older reader takes the hub and ignores the endpoint line; an attachment without one reads back without.
        assertThat(StoreValues.readAttach(StoreValues.attach(a))).isEqualTo("hub-a");
        assertThat(StoreValues.readAttachment(bytes("hub=hub-b\n"))).isEqualTo(new Attachment("hub-b", null));
        assertThat(a.same(new Attachment("hub-a", "[2001:db8::7]:40000"))).isTrue();
        assertThat(a.same(new Attachment("hub-a", "192.0.2.1:1"))).isFalse();
        assertThatThrownBy(() -> new Attachment("hub-a", "1.2.3.4:5\nhub=x")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> StoreValues.readAttachment(bytes("endpoint=1.2.3.4:5\n")))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> StoreValues.readAttachment(bytes("hub=a\nendpoint=\n")))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void keyLayout() throws Exception {
        StoreKeys k = new StoreKeys("office");
        assertThat(k.client(key(1))).isEqualTo("/patchcord/office/clients/" + StoreKeys.encodeKey(key(1)));
        assertThat(StoreKeys.encodeKey(key(1))).hasSize(44).startsWith("-");
        assertThat(StoreKeys.keyAfter(k.clientsPrefix(), k.client(key(1)))).isEqualTo(key(1));
        assertThat(k.attach(key(1))).isEqualTo("/patchcord/office/attach/" + StoreKeys.encodeKey(key(1)));
        assertThat(k.hub("hub-a")).isEqualTo("/patchcord/office/hubs/hub-a");
        assertThat(k.lease(java.net.InetAddress.getByName("10.1.2.3"))).isEqualTo("/patchcord/office/leases/10.1.2.3");
        assertThat(k.lease(java.net.InetAddress.getByName("fd00:0:0:0:0:0:0:1")))
                .as("one canonical key per address").isEqualTo(k.lease(java.net.InetAddress.getByName("fd00::1")));
        assertThatThrownBy(() -> StoreKeys.decodeKey("AAAA")).hasMessage("key 'AAAA' must be 32 bytes");
        assertThatThrownBy(() -> k.hub("Hub/x")).isInstanceOf(IllegalArgumentException.class);
    }
}
