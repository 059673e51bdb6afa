package dev.patchcord.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.patchcord.control.WgConfig;
import dev.patchcord.lab.Lab;
import dev.patchcord.lab.Self;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static dev.patchcord.e2e.Tunnels.A4;
import static dev.patchcord.e2e.Tunnels.B4;
import static dev.patchcord.e2e.WireGuardPeers.*;
import static org.assertj.core.api.Assertions.assertThat;

/** Operating a running interface: patchcord show, SaveConfig, and stopping by deleting the socket. */
@ExtendWith(LabExtension.class)
class ControlIT {

    private record Two(String a, String b, String ifA, String ifB, KeyPair ka, KeyPair kb, Path confA) {}

    /** Two patchcord ends, a with {@code extraA} in its [Interface], pinged once. */
    private Two two(Lab lab, String extraA) throws Exception {
        String[] ns = Tunnels.pair(lab);
        String ifA = ifname("a"), ifB = ifname("b");
        KeyPair ka = keys(lab, ns[0]), kb = keys(lab, ns[1]);
        String template = """
                [Interface]
                PrivateKey = %s
                ListenPort = 51820
                Address = %s/24
                %s
                [Peer]
                PublicKey = %s
                AllowedIPs = %s/32
                Endpoint = %s:51820
                """;
        Path confA = config(lab, ifA, template.formatted(ka.privateKey(), "10.80.0.1", extraA, kb.publicKey(), "10.80.0.2", B4));
        Path confB = config(lab, ifB, template.formatted(kb.privateKey(), "10.80.0.2", "", ka.publicKey(), "10.80.0.1", A4));
        patchcordUp(lab, ns[0], "pc-a", confA);
        patchcordUp(lab, ns[1], "pc-b", confB);
        Tunnels.ping(lab, ns[0], "10.80.0.2");
        return new Two(ns[0], ns[1], ifA, ifB, ka, kb, confA);
    }

    @Test
    void showPrintsPeersAndCountersAsTextAndJsonMatchingWg(Lab lab) throws Exception {
        Two t = two(lab, "");
        Lab.Result spoof = lab.run(t.b(), Duration.ofSeconds(10), Self.command("lab", "udp", "--host", A4, "--port",
                "51820", "--size", "5,200").toArray(String[]::new));
        assertThat(spoof.code()).isZero();

        String text = lab.sh(t.a(), Self.command("show", t.ifA()).toArray(String[]::new));
        assertThat(text).contains("interface: " + t.ifA()).contains("public key: " + t.ka().publicKey())
                .contains("private key: (hidden)").doesNotContain(t.ka().privateKey())
                .contains("mode: wireguard, transport: udp").contains("bad-message 2")
                .contains("peer: " + t.kb().publicKey()).contains("endpoint: " + B4 + ":51820")
                .contains("allowed ips: 10.80.0.2/32").contains("latest handshake:");

        JsonNode json = new ObjectMapper().readTree(lab.sh(t.a(), Self.command("show", t.ifA(), "--json").toArray(String[]::new)));
        JsonNode dev = json.get(0);
        assertThat(dev.get("interface").asText()).isEqualTo(t.ifA());
        assertThat(dev.get("listen_port").asInt()).isEqualTo(51820);
        assertThat(dev.get("dropped").get("bad-message").asLong()).isEqualTo(2);
        JsonNode peer = dev.get("peers").get(0);
        assertThat(peer.get("public_key").asText()).isEqualTo(t.kb().publicKey());
        assertThat(peer.get("allowed_ips").get(0).asText()).isEqualTo("10.80.0.2/32");
        assertThat(peer.get("latest_handshake").asLong()).isPositive();

        String[] wg = lab.sh(t.a(), "wg", "show", t.ifA(), "transfer").strip().split("\\s+");
        assertThat(peer.get("rx_bytes").asLong()).isEqualTo(Long.parseLong(wg[1]));
        assertThat(peer.get("tx_bytes").asLong()).isEqualTo(Long.parseLong(wg[2]));
    }

    @Test
    void saveConfigWritesBackPeersAddedWithWg(Lab lab) throws Exception {
        Two t = two(lab, "SaveConfig = true");
        KeyPair extra = keys(lab, t.a());
        lab.sh(t.a(), "wg", "set", t.ifA(), "peer", extra.publicKey(), "allowed-ips", "10.80.0.9/32",
                "endpoint", "198.18.0.9:51820", "persistent-keepalive", "15");
        Tunnels.stop(lab, "pc-a");
        String saved = Files.readString(t.confA());
        assertThat(saved).contains("SaveConfig = true").contains("Address = 10.80.0.1/24")
                .contains("PrivateKey = " + t.ka().privateKey()).contains("ListenPort = 51820")
                .contains("PublicKey = " + t.kb().publicKey()).contains("PublicKey = " + extra.publicKey())
                .contains("AllowedIPs = 10.80.0.9/32").contains("Endpoint = 198.18.0.9:51820")
                .contains("PersistentKeepalive = 15");
        assertThat(Files.getPosixFilePermissions(t.confA())).hasSize(2);
        assertThat(WgConfig.parse(t.confA()).peers()).hasSize(2);
    }

    @Test
    void aThousandPeersLoadAndWgListsThemAll(Lab lab) throws Exception {
        String ns = lab.netns("a");
        String ifname = ifname("k");
        var rng = new java.security.SecureRandom();
        StringBuilder conf = new StringBuilder("[Interface]\nPrivateKey = ").append(keys(lab, ns).privateKey())
                .append("\nListenPort = 51820\nAddress = 10.64.0.1/10\n");
        for (int i = 0; i < 1000; i++) {
            byte[] key = dev.patchcord.core.wg.X25519.publicKey(dev.patchcord.core.wg.X25519.generatePrivate(rng));
            conf.append("[Peer]\nPublicKey = ").append(java.util.Base64.getEncoder().encodeToString(key))
                    .append("\nAllowedIPs = 10.65.").append(i / 250).append('.').append(i % 250 + 2).append("/32\n");
        }
        patchcordUp(lab, ns, "pc", config(lab, ifname, conf.toString()));
        assertThat(lab.sh(ns, "wg", "show", ifname, "peers").lines().count()).isEqualTo(1000);
        assertThat(lab.sh(ns, "wg", "show", ifname, "allowed-ips")).contains("10.65.3.251/32");
        assertThat(lab.sh(ns, "ip", "route", "show", "dev", ifname).lines().count()).isGreaterThanOrEqualTo(1000);
    }

    @Test
    void deletingTheSocketStopsTheInterface(Lab lab) throws Exception {
        Two t = two(lab, "");
        Files.delete(Path.of("/var/run/wireguard/" + t.ifA() + ".sock"));
        Process a = lab.processes().get("pc-a");
        assertThat(Lab.await(Duration.ofSeconds(10), () -> !a.isAlive())).isTrue();
        assertThat(a.exitValue()).isZero();
        assertThat(lab.log("pc-a")).contains("was deleted; stopping");
        assertThat(lab.hasInterface(t.a(), t.ifA())).isFalse();
    }
}
