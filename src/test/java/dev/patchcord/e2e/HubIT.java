package dev.patchcord.e2e;

import dev.patchcord.lab.Lab;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static dev.patchcord.e2e.WireGuardPeers.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A patchcord hub with clients in their own namespaces, each joined to the hub by its own veth:
 * client 1 and client 3 run patchcord, client 2 runs wireguard-go. Tunnel addresses 10.70.0.1
 * (hub), .2, .3, .4. The unmodified {@code wg} tool watches and changes the hub over its UAPI socket.
 */
@ExtendWith(LabExtension.class)
class HubIT {
    private static final int PORT = 51820;

    private record Net(String hub, String hubIf, KeyPair hubKeys, String[] clients, String[] clientIfs,
                       KeyPair[] clientKeys) {}

    /** Namespaces, links and keys; {@code extra} goes into the hub's [Interface]. */
    private Net start(Lab lab, String extra, boolean thirdClient) throws Exception {
        String hub = lab.netns("hub");
        int n = thirdClient ? 3 : 2;
        String[] clients = new String[n];
        String[] ifs = new String[n];
        KeyPair[] keys = new KeyPair[n];
        for (int i = 0; i < n; i++) {
            clients[i] = lab.netns("c" + (i + 1));
            lab.link(hub, List.of("198.18." + (i + 1) + ".1/24"), clients[i], List.of("198.18." + (i + 1) + ".2/24"));
            ifs[i] = ifname("c" + (i + 1));
            keys[i] = keys(lab, clients[i]);
        }
        String hubIf = ifname("h");
        KeyPair hubKeys = keys(lab, hub);
        StringBuilder conf = new StringBuilder("""
                [Interface]
                PrivateKey = %s
                ListenPort = %d
                Address = 10.70.0.1/24
                %s
                """.formatted(hubKeys.privateKey(), PORT, extra));
        for (int i = 0; i < 2; i++) {
            conf.append("[Peer]\nPublicKey = ").append(keys[i].publicKey()).append("\nAllowedIPs = 10.70.0.")
                    .append(i + 2).append("/32\n");
        }
        patchcordUp(lab, hub, "hub", config(lab, hubIf, conf.toString()), "--verbose");
        // Client 1: patchcord. Client 2: wireguard-go. Both send the whole tunnel subnet to the hub.
        patchcordUp(lab, clients[0], "client1", config(lab, ifs[0], client(keys[0], 2, hubKeys, 1)));
        wireguardGo(lab, clients[1], ifs[1], keys[1], PORT, "10.70.0.3/24", List.of("peer", hubKeys.publicKey(),
                "allowed-ips", "10.70.0.0/24", "endpoint", "198.18.2.1:" + PORT, "persistent-keepalive", "1"));
        return new Net(hub, hubIf, hubKeys, clients, ifs, keys);
    }

    private static String client(KeyPair self, int host, KeyPair hub, int link) {
        return """
                [Interface]
                PrivateKey = %s
                ListenPort = %d
                Address = 10.70.0.%d/24
                [Peer]
                PublicKey = %s
                AllowedIPs = 10.70.0.0/24
                Endpoint = 198.18.%d.1:%d
                PersistentKeepalive = 1
                """.formatted(self.privateKey(), PORT, host, hub.publicKey(), link, PORT);
    }

    @Test
    void clientsReachEachOtherThroughTheHubAndWgWatchesAndAddsPeersLive(Lab lab) throws Exception {
        Net net = start(lab, "Hub = true", true);
        Tunnels.ping(lab, net.clients()[0], "10.70.0.3");
        Tunnels.ping(lab, net.clients()[1], "10.70.0.2");

        String show = lab.sh(net.hub(), "wg", "show", net.hubIf());
        assertThat(show).contains("peer: " + net.clientKeys()[0].publicKey())
                .contains("peer: " + net.clientKeys()[1].publicKey())
                .contains("latest handshake:").contains("transfer:");
        String dump = lab.sh(net.hub(), "wg", "show", net.hubIf(), "dump");
        assertThat(dump.lines().skip(1).filter(l -> !l.split("\t")[4].equals("0")).count())
                .as("both peers have a handshake time:\n" + dump).isEqualTo(2);

        // A fourth peer is added with wg while a transfer between the others is running.
        CompletableFuture<Void> transfer = CompletableFuture.runAsync(
                () -> Tunnels.transfer(lab, net.clients()[0], net.clients()[1], "10.70.0.3", 50_000_000));
        lab.sh(net.hub(), "wg", "set", net.hubIf(), "peer", net.clientKeys()[2].publicKey(), "allowed-ips", "10.70.0.4/32");
        patchcordUp(lab, net.clients()[2], "client3", config(lab, net.clientIfs()[2], client(net.clientKeys()[2], 4, net.hubKeys(), 3)));
        Tunnels.ping(lab, net.clients()[2], "10.70.0.1");
        Tunnels.ping(lab, net.clients()[2], "10.70.0.2");
        transfer.get(120, TimeUnit.SECONDS);
        assertThat(lab.sh(net.hub(), "wg", "show", net.hubIf(), "peers").lines().count()).isEqualTo(3);

        // Removing it again leaves the others undisturbed.
        lab.sh(net.hub(), "wg", "set", net.hubIf(), "peer", net.clientKeys()[2].publicKey(), "remove");
        Lab.Result gone = lab.run(net.clients()[2], Duration.ofSeconds(20), "ping", "-c", "2", "-W", "1", "10.70.0.1");
        assertThat(gone.code()).isNotZero();
        Tunnels.ping(lab, net.clients()[0], "10.70.0.3");
        assertThat(lab.sh(net.hub(), "wg", "show", net.hubIf(), "peers").lines().count()).isEqualTo(2);
    }

    @Test
    void aSpoofedInnerSourceIsDroppedAndCounted(Lab lab) throws Exception {
        Net net = start(lab, "Hub = true", false);
        Tunnels.ping(lab, net.clients()[1], "10.70.0.1");
        // wireguard-go's host claims an address that is not in its AllowedIPs at the hub.
        lab.addAddress(net.clients()[1], net.clientIfs()[1], "10.70.0.99/32");
        Lab.Result spoofed = lab.run(net.clients()[1], Duration.ofSeconds(20), "ping", "-c", "3", "-i", "0.2", "-W", "1",
                "-I", "10.70.0.99", "10.70.0.1");
        assertThat(spoofed.code()).isNotZero();
        String counters = Tunnels.stop(lab, "hub");
        assertThat(Tunnels.dropped(counters, "not-allowed")).as(counters).isGreaterThanOrEqualTo(3);
    }

    @Test
    void clientIsolationForbidsClientToClientButNotClientToHub(Lab lab) throws Exception {
        Net net = start(lab, "Hub = true\nClientIsolation = true", false);
        Tunnels.ping(lab, net.clients()[0], "10.70.0.1");
        Tunnels.ping(lab, net.clients()[1], "10.70.0.1");
        Lab.Result across = lab.run(net.clients()[0], Duration.ofSeconds(20), "ping", "-c", "2", "-W", "1", "10.70.0.3");
        assertThat(across.code()).isNotZero();
        String counters = Tunnels.stop(lab, "hub");
        assertThat(Tunnels.dropped(counters, "isolated")).as(counters).isGreaterThanOrEqualTo(2);
    }

    @Test
    void withoutHubTheKernelRoutesBetweenClients(Lab lab) throws Exception {
        Net net = start(lab, "PostUp = sysctl -qw net.ipv4.ip_forward=1", false);
        Tunnels.ping(lab, net.clients()[0], "10.70.0.3");
        Tunnels.ping(lab, net.clients()[1], "10.70.0.2");
    }
}
