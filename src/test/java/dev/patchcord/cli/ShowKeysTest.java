package dev.patchcord.cli;

import dev.patchcord.core.wg.Keys;
import dev.patchcord.core.wg.X25519;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code patchcord show}, text and JSON: private and preshared keys appear only with --show-keys. */
class ShowKeysTest {
    private final SplittableRandom rng = new SplittableRandom(11);
    private final byte[] privateKey = X25519.generatePrivate(rng);
    private final byte[] peerKey = X25519.publicKey(X25519.generatePrivate(rng));
    private final byte[] psk = random();
    private final byte[] otherPeerKey = X25519.publicKey(X25519.generatePrivate(rng));

    private byte[] random() {
        byte[] b = new byte[32];
        rng.nextBytes(b);
        return b;
    }

    /** A get=1 reply as the configuration socket sends it: one peer with a preshared key, one without. */
    private ShowCommand.Device device() {
        HexFormat hex = HexFormat.of();
        String reply = "private_key=" + hex.formatHex(privateKey) + "\n"
                + "listen_port=51820\n"
                + "public_key=" + hex.formatHex(peerKey) + "\n"
                + "preshared_key=" + hex.formatHex(psk) + "\n"
                + "protocol_version=1\nendpoint=198.18.0.2:51820\nlast_handshake_time_sec=0\n"
                + "last_handshake_time_nsec=0\ntx_bytes=0\nrx_bytes=0\npersistent_keepalive_interval=0\n"
                + "allowed_ip=10.0.0.2/32\n"
                + "public_key=" + hex.formatHex(otherPeerKey) + "\n"
                + "preshared_key=" + "0".repeat(64) + "\n"
                + "protocol_version=1\nlast_handshake_time_sec=0\nlast_handshake_time_nsec=0\n"
                + "tx_bytes=0\nrx_bytes=0\npersistent_keepalive_interval=0\n"
                + "errno=0\n\n";
        return ShowCommand.parse("wg9", reply);
    }

    private List<String> secrets() {
        HexFormat hex = HexFormat.of();
        return List.of(Keys.toBase64(privateKey), hex.formatHex(privateKey), Keys.toBase64(psk), hex.formatHex(psk));
    }

    private String text(boolean showKeys) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ShowCommand.text(device(), new PrintStream(bytes, true, StandardCharsets.UTF_8), showKeys);
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void textHidesPrivateAndPresharedKeys() {
        String out = text(false);
        assertThat(out).contains("public key: " + Keys.toBase64(X25519.publicKey(privateKey)));
        assertThat(out).contains("private key: (hidden)").contains("preshared key: (hidden)");
        assertThat(out).contains("peer: " + Keys.toBase64(peerKey));
        for (String secret : secrets()) {
            assertThat(out).doesNotContain(secret);
        }
        // The peer without a preshared key says nothing about one.
        assertThat(out.split("preshared key", -1)).hasSize(2);
    }

    @Test
    void jsonHidesPrivateAndPresharedKeys() {
        String json = ShowJson.render(List.of(device()), false);
        assertThat(json).contains("\"public_key\": \"" + Keys.toBase64(X25519.publicKey(privateKey)) + "\"");
        assertThat(json).contains("\"preshared_key\": true").contains("\"preshared_key\": false");
        assertThat(json).doesNotContain("private_key").doesNotContain("preshared_key_value");
        for (String secret : secrets()) {
            assertThat(json).doesNotContain(secret);
        }
    }

    @Test
    void showKeysPrintsThemInBase64() {
        String out = text(true);
        assertThat(out).contains("private key: " + Keys.toBase64(privateKey));
        assertThat(out).contains("preshared key: " + Keys.toBase64(psk));
        String json = ShowJson.render(List.of(device()), true);
        assertThat(json).contains("\"private_key\": \"" + Keys.toBase64(privateKey) + "\"");
        assertThat(json).contains("\"preshared_key_value\": \"" + Keys.toBase64(psk) + "\"");
        assertThat(json).contains("\"preshared_key_value\": null");
    }
}
