package dev.patchcord.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.patchcord.core.wg.X25519;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code patchcord show} on its own interfaces and on other implementations' (wireguard-go's):
 * patchcord's figures (mode, transport, packets, drops) are shown only where the configuration
 * socket reported them with the {@code patchcord_} keys, and never made up as "none" or 0.
 */
class ShowImplementationsTest {
    private final SplittableRandom rng = new SplittableRandom(5);
    private final String privateKey = HexFormat.of().formatHex(X25519.generatePrivate(rng));
    private final String peerKey = HexFormat.of().formatHex(X25519.publicKey(X25519.generatePrivate(rng)));

    /** The lines every implementation sends: one interface, one peer that has had a handshake. */
    private String reply(String deviceExtras, String peerExtras) {
        return "private_key=" + privateKey + "\nlisten_port=51820\n" + deviceExtras
                + "public_key=" + peerKey + "\npreshared_key=" + "0".repeat(64) + "\nprotocol_version=1\n"
                + "endpoint=198.18.0.2:51820\nlast_handshake_time_sec=1700000000\nlast_handshake_time_nsec=0\n"
                + "tx_bytes=2048\nrx_bytes=1024\npersistent_keepalive_interval=0\nallowed_ip=10.0.0.2/32\n"
                + peerExtras + "errno=0\n\n";
    }

    /** What wireguard-go answers to get=1: the standard keys only. */
    private ShowCommand.Device wireguardGo() {
        return ShowCommand.parse("wg7", reply("", ""));
    }

    /** What patchcord answers: the same, plus its own keys for the interface and the peer. */
    private ShowCommand.Device patchcord() {
        return ShowCommand.parse("pc7", reply(
                "patchcord_mode=wireguard\npatchcord_transport=udp\npatchcord_rx_packets=12\npatchcord_tx_packets=34\n"
                        + "patchcord_drop_bad_message=2\npatchcord_drop_not_allowed=3\n",
                "patchcord_rx_packets=5\npatchcord_tx_packets=6\n"));
    }

    private static String text(ShowCommand.Device d) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ShowCommand.text(d, new PrintStream(bytes, true, StandardCharsets.UTF_8), false);
        return bytes.toString(StandardCharsets.UTF_8);
    }

    private static JsonNode json(ShowCommand.Device d) throws Exception {
        JsonNode all = new ObjectMapper().readTree(ShowJson.render(List.of(d), false));
        assertThat(all.size()).isEqualTo(1);
        return all.get(0);
    }

    @Test
    void recognisesWhoRunsTheInterfaceByTheExtensionKeys() {
        assertThat(patchcord().patchcord()).isTrue();
        assertThat(wireguardGo().patchcord()).isFalse();
        // A peer's keys alone are enough (an interface reporting no device-level figures).
        assertThat(ShowCommand.parse("pc8", reply("", "patchcord_rx_packets=1\n")).patchcord()).isTrue();
    }

    @Test
    void textOfAnotherImplementationHasNoDroppedOrModeLine() {
        String out = text(wireguardGo());
        assertThat(out).doesNotContain("dropped").doesNotContain("mode:").doesNotContain("transport");
        // What wireguard-go does report is all there, as wg show prints it.
        assertThat(out).contains("interface: wg7").contains("listening port: 51820")
                .contains("endpoint: 198.18.0.2:51820").contains("allowed ips: 10.0.0.2/32")
                .contains("latest handshake:").contains("transfer: 1.00 KiB received, 2.00 KiB sent");
    }

    @Test
    void textOfPatchcordsOwnInterfaceHasItsFigures() {
        String out = text(patchcord());
        assertThat(out).contains("  mode: wireguard, transport: udp\n")
                .contains("  dropped: bad-message 2, not-allowed 3\n");
        String quiet = text(ShowCommand.parse("pc9", reply("patchcord_mode=wireguard\npatchcord_transport=udp\n", "")));
        assertThat(quiet).as("patchcord reports drops, so none is a fact").contains("  dropped: none\n");
    }

    @Test
    void jsonOfAnotherImplementationHasNullForPatchcordsFigures() throws Exception {
        JsonNode dev = json(wireguardGo());
        for (String field : List.of("mode", "transport", "rx_packets", "tx_packets", "dropped")) {
            assertThat(dev.has(field)).as(field + " present").isTrue();
            assertThat(dev.get(field).isNull()).as(field + " is null: " + dev.get(field)).isTrue();
        }
        JsonNode peer = dev.get("peers").get(0);
        assertThat(peer.get("rx_packets").isNull()).isTrue();
        assertThat(peer.get("tx_packets").isNull()).isTrue();
        // The standard figures are numbers as usual.
        assertThat(dev.get("listen_port").asInt()).isEqualTo(51820);
        assertThat(peer.get("rx_bytes").asLong()).isEqualTo(1024);
        assertThat(peer.get("tx_bytes").asLong()).isEqualTo(2048);
        assertThat(peer.get("latest_handshake").asLong()).isEqualTo(1_700_000_000L);
    }

    @Test
    void jsonOfPatchcordsOwnInterfaceHasItsFigures() throws Exception {
        JsonNode dev = json(patchcord());
        assertThat(dev.get("mode").asText()).isEqualTo("wireguard");
        assertThat(dev.get("transport").asText()).isEqualTo("udp");
        assertThat(dev.get("rx_packets").asLong()).isEqualTo(12);
        assertThat(dev.get("tx_packets").asLong()).isEqualTo(34);
        assertThat(dev.get("dropped").get("bad-message").asLong()).isEqualTo(2);
        assertThat(dev.get("dropped").get("not-allowed").asLong()).isEqualTo(3);
        JsonNode peer = dev.get("peers").get(0);
        assertThat(peer.get("rx_packets").asLong()).isEqualTo(5);
        assertThat(peer.get("tx_packets").asLong()).isEqualTo(6);
        JsonNode quiet = json(ShowCommand.parse("pc9", reply("patchcord_mode=wireguard\n", "")));
        assertThat(quiet.get("dropped").isObject()).isTrue();
        assertThat(quiet.get("dropped").size()).isZero();
        assertThat(quiet.get("rx_packets").asLong()).isZero();
    }
}
