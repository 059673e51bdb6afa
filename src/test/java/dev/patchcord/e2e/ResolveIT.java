package dev.patchcord.e2e;

import dev.patchcord.lab.Lab;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static dev.patchcord.e2e.WireGuardPeers.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * An endpoint given as a host name follows the host when it moves: the client's namespace has its
 * own hosts file ({@code ip netns exec} mounts /etc/netns/NS/hosts over /etc/hosts), the server
 * changes address and the name with it, and the client finds it again by looking the name up.
 */
@ExtendWith(LabExtension.class)
class ResolveIT {

    @Test
    void aHostNameEndpointIsLookedUpAgainWhenHandshakesFail(Lab lab) throws Exception {
        String[] ns = Tunnels.pair(lab);
        Path parent = Path.of("/etc/netns");
        boolean parentExisted = Files.isDirectory(parent);
        Path dir = parent.resolve(ns[0]);
        Path hosts = dir.resolve("hosts");
        try {
            Files.createDirectories(dir);
            Files.writeString(hosts, "127.0.0.1 localhost\n198.18.0.2 server.pctest\n");
            String ifA = ifname("a"), ifB = ifname("b");
            KeyPair ka = keys(lab, ns[0]), kb = keys(lab, ns[1]);
            patchcordUp(lab, ns[1], "server", config(lab, ifB, """
                    [Interface]
                    PrivateKey = %s
                    ListenPort = 51820
                    Address = 10.97.0.2/24
                    [Peer]
                    PublicKey = %s
                    AllowedIPs = 10.97.0.1/32
                    """.formatted(kb.privateKey(), ka.publicKey())));
            patchcordUp(lab, ns[0], "client", config(lab, ifA, """
                    [Interface]
                    PrivateKey = %s
                    Address = 10.97.0.1/24
                    [Peer]
                    PublicKey = %s
                    AllowedIPs = 10.97.0.2/32
                    Endpoint = server.pctest:51820
                    """.formatted(ka.privateKey(), kb.publicKey())), "--verbose");
            Tunnels.ping(lab, ns[0], "10.97.0.2");
            // Wait for the client's passive keepalive (10 s after the last reply) to answer the
            // server's ping replies, so the server has nothing unanswered and stays silent: otherwise
            // it would start a handshake from its new address after the move and the client would
            // simply follow it (roaming, not DNS).
            long sent = WireGuardPeers.wgTransfer(lab, ns[0], ifA)[1];
            assertThat(Lab.await(Duration.ofSeconds(20), () -> WireGuardPeers.wgTransfer(lab, ns[0], ifA)[1] >= sent + 32))
                    .as("the client's keepalive").isTrue();

            // The server moves to a new address, and its name follows (written in place: the mount stays).
            String vethB = lab.prefix() + "v0b";
            lab.sh(ns[1], "sysctl", "-qw", "net.ipv4.conf." + vethB + ".promote_secondaries=1");
            lab.addAddress(ns[1], vethB, "198.18.0.77/24");
            lab.ip(ns[1], "addr", "del", Tunnels.B4 + "/24", "dev", vethB);
            Files.writeString(hosts, "127.0.0.1 localhost\n198.18.0.77 server.pctest\n");

            // Traffic resumes once the client's handshakes fail and it looks the name up again.
            boolean back = Lab.await(Duration.ofSeconds(60), () -> lab.run(ns[0], Duration.ofSeconds(5),
                    "ping", "-c", "1", "-W", "1", "10.97.0.2").code() == 0);
            assertThat(back).as(lab.log("client")).isTrue();
            assertThat(lab.log("client")).contains("server.pctest now resolves to 198.18.0.77:51820");
        } finally {
            Files.deleteIfExists(hosts);
            Files.deleteIfExists(dir);
            if (!parentExisted) {
                Files.deleteIfExists(parent);
            }
        }
    }
}
