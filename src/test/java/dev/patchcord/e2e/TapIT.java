package dev.patchcord.e2e;

import dev.patchcord.lab.Lab;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.List;

import static dev.patchcord.e2e.WireGuardPeers.*;
import static org.assertj.core.api.Assertions.assertThat;

/** Encrypted layer 2: Ethernet frames between patchcord TAP interfaces. */
@ExtendWith(LabExtension.class)
class TapIT {
    private static final int PORT = 51820;

    private static String conf(KeyPair self, String extra, List<String[]> peers) {
        StringBuilder sb = new StringBuilder("[Interface]\nPrivateKey = " + self.privateKey() + "\nListenPort = " + PORT
                + "\nMode = tap\n" + extra + "\n");
        for (String[] p : peers) {
            sb.append("[Peer]\nPublicKey = ").append(p[0]).append('\n');
            if (p[1] != null) {
                sb.append("Endpoint = ").append(p[1]).append("\nPersistentKeepalive = 1\n");
            }
        }
        return sb.toString();
    }

    @Test
    void twoBridgedSitesExchangeArpAndNeighbourDiscoveryAndPing(Lab lab) throws Exception {
        String[] ns = Tunnels.pair(lab);
        String ifA = ifname("t"), ifB = ifname("t");
        KeyPair ka = keys(lab, ns[0]), kb = keys(lab, ns[1]);
        patchcordUp(lab, ns[0], "tap-a", config(lab, ifA, conf(ka, "", List.<String[]>of(new String[]{kb.publicKey(), Tunnels.B4 + ":" + PORT}))));
        patchcordUp(lab, ns[1], "tap-b", config(lab, ifB, conf(kb, "", List.<String[]>of(new String[]{ka.publicKey(), Tunnels.A4 + ":" + PORT}))));
        assertThat(lab.ip(ns[0], "link", "show", ifA)).contains("link/ether").contains("mtu 1404");
        // Each site bridges its TAP, as a real site would bridge it with its LAN.
        for (int i = 0; i < 2; i++) {
            String n = ns[i], tap = i == 0 ? ifA : ifB, br = "br" + tap.substring(2);
            lab.ip(n, "link", "add", br, "type", "bridge");
            lab.ip(n, "link", "set", tap, "master", br);
            lab.ip(n, "link", "set", br, "up");
            lab.addAddress(n, br, "10.91.0." + (i + 1) + "/24");
            lab.addAddress(n, br, "fd00:91::" + (i + 1) + "/64");
        }
        Tunnels.ping(lab, ns[0], "10.91.0.2");
        Tunnels.ping(lab, ns[1], "fd00:91::1");
        assertThat(lab.sh(ns[0], "ip", "neigh", "show", "10.91.0.2")).contains("lladdr");
        assertThat(lab.sh(ns[1], "ip", "-6", "neigh", "show", "fd00:91::1")).contains("lladdr");
        Tunnels.transfer(lab, ns[0], ns[1], "10.91.0.2", 20_000_000);
        if (!"none".equals(System.getenv("PATCHCORD_OFFLOADS"))) {
            // Batched like a TUN: the TAP hands over TCP super-frames through the bridge, and the
            // other end merges what arrives, so both move far more than one frame per system call.
            assertThat(lab.log("tap-a")).contains("batches").contains("TUN offloads csum tso4 tso6");
            assertThat(bytesPerPacket(lab, ns[0], ifA, "tx")).as("bytes per read from the TAP").isGreaterThan(4000);
            assertThat(bytesPerPacket(lab, ns[1], ifB, "rx")).as("bytes per write to the TAP").isGreaterThan(4000);
        }
    }

    /** The interface's average packet size one way, from its counters ("tx": what patchcord read). */
    private static long bytesPerPacket(Lab lab, String ns, String ifname, String way) {
        String dir = "/sys/class/net/" + ifname + "/statistics/" + way;
        long bytes = Long.parseLong(lab.sh(ns, "cat", dir + "_bytes").strip());
        long packets = Long.parseLong(lab.sh(ns, "cat", dir + "_packets").strip());
        return bytes / Math.max(1, packets);
    }

    @Test
    void aTapHubFloodsBroadcastToAllAndSendsUnicastToOne(Lab lab) throws Exception {
        String hub = lab.netns("hub");
        String hubIf = ifname("h");
        KeyPair hk = keys(lab, hub);
        String[] clients = new String[3];
        String[] ifs = new String[3];
        KeyPair[] keys = new KeyPair[3];
        List<String[]> hubPeers = new java.util.ArrayList<>();
        for (int i = 0; i < 3; i++) {
            clients[i] = lab.netns("c" + (i + 1));
            lab.link(hub, List.of("198.18." + (i + 1) + ".1/24"), clients[i], List.of("198.18." + (i + 1) + ".2/24"));
            ifs[i] = ifname("c");
            keys[i] = keys(lab, clients[i]);
            hubPeers.add(new String[]{keys[i].publicKey(), null});
        }
        patchcordUp(lab, hub, "hub", config(lab, hubIf, conf(hk, "Hub = true", hubPeers)));
        lab.addAddress(hub, hubIf, "10.92.0.1/24");
        for (int i = 0; i < 3; i++) {
            patchcordUp(lab, clients[i], "c" + (i + 1), config(lab, ifs[i], conf(keys[i], "",
                    List.<String[]>of(new String[]{hk.publicKey(), "198.18." + (i + 1) + ".1:" + PORT}))));
            lab.addAddress(clients[i], ifs[i], "10.92.0." + (i + 2) + "/24");
        }
        for (String ns : List.of(hub, clients[1], clients[2])) {
            lab.sh(ns, "sysctl", "-qw", "net.ipv4.icmp_echo_ignore_broadcasts=0");
        }
        // Broadcast from client 1 reaches the hub and both other clients.
        Lab.Result b = lab.run(clients[0], Duration.ofSeconds(20), "ping", "-b", "-c", "3", "-i", "0.3", "10.92.0.255");
        assertThat(b.output()).contains("from 10.92.0.1").contains("from 10.92.0.3").contains("from 10.92.0.4");

        // Unicast from client 1 to client 2 goes to client 2 only.
        Tunnels.ping(lab, clients[0], "10.92.0.3");
        long before = rxPackets(lab, clients[2], ifs[2]);
        lab.sh(clients[0], "ping", "-c", "100", "-i", "0.01", "-W", "1", "10.92.0.3");
        long after = rxPackets(lab, clients[2], ifs[2]);
        assertThat(after - before).as("client 3 saw client 1's unicast").isLessThan(20);
    }

    private static long rxPackets(Lab lab, String ns, String ifname) {
        return Long.parseLong(lab.sh(ns, "cat", "/sys/class/net/" + ifname + "/statistics/rx_packets").strip());
    }
}
