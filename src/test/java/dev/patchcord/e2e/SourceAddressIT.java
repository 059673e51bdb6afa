package dev.patchcord.e2e;

import dev.patchcord.lab.Lab;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.patchcord.e2e.WireGuardPeers.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Sticky source addresses: a patchcord server with several addresses answers each client from the
 * address that client sent to, as Linux's WireGuard does, and falls back to the address routing
 * picks when that one is removed. The client is wireguard-go, whose endpoint for the server
 * follows the source of every authenticated packet it gets: if an answer came from another
 * address, its {@code wg show endpoints} says so.
 *
 * <p>The server's veth to the client has two addresses per family, {@code .1} and {@code .2}; a
 * second veth (to a third namespace) holds a third, which the client reaches through a route via
 * the first. Which of the first two routing would pick is asked of the kernel, and the client is
 * pointed at the other.
 */
@ExtendWith(LabExtension.class)
class SourceAddressIT {
    private static final int PORT = 51820;
    private static final String SERVER_TUNNEL = "10.61.0.1", CLIENT_TUNNEL = "10.61.0.2";

    enum Family {
        V4("198.18.0.1", "198.18.0.2", "198.18.0.9", 24, "198.18.7.1", "198.18.7.2"),
        V6("fd00:5c::1", "fd00:5c::2", "fd00:5c::9", 64, "fd00:5d::1", "fd00:5d::2");

        /** The server's two addresses on the client's network, the client's, and its prefix length. */
        final String first, second, client;
        final int prefix;
        /** The server's address on another interface, and its neighbour's there. */
        final String other, otherPeer;

        Family(String first, String second, String client, int prefix, String other, String otherPeer) {
            this.first = first;
            this.second = second;
            this.client = client;
            this.prefix = prefix;
            this.other = other;
            this.otherPeer = otherPeer;
        }

        String endpoint(String address) {
            return (this == V6 ? "[" + address + "]" : address) + ":" + PORT;
        }
    }

    private record Network(String server, String client, String serverVeth) {}

    private record Setup(String server, String client, String serverVeth, String wgIf, KeyPair serverKeys) {}

    /** The two namespaces and their addresses, both families whatever the test uses; nothing running. */
    private static Network network(Lab lab) {
        String server = lab.netns("srv");
        String client = lab.netns("cli");
        String[] veth = lab.link(server, List.of(Family.V4.first + "/24", Family.V4.second + "/24",
                        Family.V6.first + "/64", Family.V6.second + "/64"),
                client, List.of(Family.V4.client + "/24", Family.V6.client + "/64"));
        // Another interface of the server's, towards a third network.
        String side = lab.netns("side");
        lab.link(server, List.of(Family.V4.other + "/24", Family.V6.other + "/64"),
                side, List.of(Family.V4.otherPeer + "/24", Family.V6.otherPeer + "/64"));
        lab.ip(client, "route", "add", Family.V4.other + "/32", "via", Family.V4.first);
        lab.ip(client, "-6", "route", "add", Family.V6.other + "/128", "via", Family.V6.first);
        return new Network(server, client, veth[0]);
    }

    /**
     * Starts the server (patchcord, learning its client's endpoint) and the client (wireguard-go,
     * pointed at {@code target}); nothing sent yet.
     */
    private static Setup start(Lab lab, Network n, Family family, String target) throws Exception {
        String pcIf = ifname("s"), wgIf = ifname("c");
        KeyPair serverKeys = keys(lab, n.server()), clientKeys = keys(lab, n.client());
        Path conf = config(lab, pcIf, """
                [Interface]
                PrivateKey = %s
                ListenPort = %d
                Address = %s/24
                [Peer]
                PublicKey = %s
                AllowedIPs = %s/32
                """.formatted(serverKeys.privateKey(), PORT, SERVER_TUNNEL, clientKeys.publicKey(), CLIENT_TUNNEL));
        patchcordUp(lab, n.server(), "patchcord", conf, "--verbose");
        wireguardGo(lab, n.client(), wgIf, clientKeys, PORT, CLIENT_TUNNEL + "/24", List.of("peer",
                serverKeys.publicKey(), "allowed-ips", SERVER_TUNNEL + "/32", "endpoint", family.endpoint(target)));
        return new Setup(n.server(), n.client(), n.serverVeth(), wgIf, serverKeys);
    }

    /** The server's veth address that routing picks towards the client, and the other one. */
    private static String[] routedAndOther(Lab lab, Network n, Family family) {
        String route = lab.sh(n.server(), "ip", family == Family.V6 ? "-6" : "-4", "route", "get", family.client);
        Matcher m = Pattern.compile("\\bsrc (\\S+)").matcher(route);
        assertThat(m.find()).as("a source in: " + route).isTrue();
        String routed = m.group(1);
        assertThat(routed).isIn(family.first, family.second);
        return new String[]{routed, routed.equals(family.first) ? family.second : family.first};
    }

    /** Where the client now sends to the server: the source of the server's last authenticated packet. */
    private static String serverSeenByClient(Lab lab, Setup s) {
        String out = lab.sh(s.client(), "wg", "show", s.wgIf(), "endpoints").strip();
        assertThat(out).startsWith(s.serverKeys().publicKey() + "\t");
        return out.substring(out.indexOf('\t') + 1);
    }

    /** Traffic both ways, each side starting some: handshake answers, data and keepalives all reach the client. */
    private static void talk(Lab lab, Setup s) {
        Tunnels.reach(lab, s.client(), SERVER_TUNNEL);
        Tunnels.ping(lab, s.server(), CLIENT_TUNNEL);
        Tunnels.ping(lab, s.client(), SERVER_TUNNEL);
    }

    @ParameterizedTest
    @EnumSource(Family.class)
    void aClientOfTheAddressRoutingWouldNotPickIsAnsweredFromIt(Family family, Lab lab) throws Exception {
        Network n = network(lab);
        String[] addresses = routedAndOther(lab, n, family);
        Setup s = start(lab, n, family, addresses[1]);
        talk(lab, s);
        assertThat(serverSeenByClient(lab, s)).as("answers leave from the address the client chose, not "
                + addresses[0]).isEqualTo(family.endpoint(addresses[1]));

        // The client moves to an address on another interface: the answers follow it there.
        lab.sh(s.client(), "wg", "set", s.wgIf(), "peer", s.serverKeys().publicKey(), "endpoint",
                family.endpoint(family.other));
        Tunnels.ping(lab, s.client(), SERVER_TUNNEL);
        Tunnels.ping(lab, s.server(), CLIENT_TUNNEL);
        assertThat(serverSeenByClient(lab, s)).isEqualTo(family.endpoint(family.other));
        assertThat(Tunnels.dropped(Tunnels.stop(lab, "patchcord"), "send-error")).isZero();
    }

    @ParameterizedTest
    @EnumSource(Family.class)
    void anAddressOnAnotherInterfaceAnswersFromItself(Family family, Lab lab) throws Exception {
        Setup s = start(lab, network(lab), family, family.other);
        talk(lab, s);
        assertThat(serverSeenByClient(lab, s)).as("answers leave from the other interface's address, not the one towards the client")
                .isEqualTo(family.endpoint(family.other));
        assertThat(Tunnels.dropped(Tunnels.stop(lab, "patchcord"), "send-error")).isZero();
    }

    @ParameterizedTest
    @EnumSource(Family.class)
    void whenTheAddressIsRemovedTheServerFallsOverToAnother(Family family, Lab lab) throws Exception {
        Network n = network(lab);
        String[] addresses = routedAndOther(lab, n, family);
        Setup s = start(lab, n, family, addresses[1]);
        talk(lab, s);
        assertThat(serverSeenByClient(lab, s)).isEqualTo(family.endpoint(addresses[1]));

        // The address goes; the server has something to send before the client says anything.
        // The remembered source is refused, so it goes from the address left, the client follows
        // it there, and the traffic goes on.
        lab.ip(s.server(), "addr", "del", addresses[1] + "/" + family.prefix, "dev", s.serverVeth());
        Tunnels.ping(lab, s.server(), CLIENT_TUNNEL);
        assertThat(serverSeenByClient(lab, s)).isEqualTo(family.endpoint(addresses[0]));
        Tunnels.ping(lab, s.client(), SERVER_TUNNEL);
        Tunnels.transfer(lab, s.client(), s.server(), SERVER_TUNNEL, 5_000_000);
        Tunnels.transfer(lab, s.server(), s.client(), CLIENT_TUNNEL, 5_000_000);
        assertThat(Tunnels.dropped(Tunnels.stop(lab, "patchcord"), "send-error"))
                .as("no datagram was lost to the removed address").isZero();
    }

    /**
     * The remembered address still exists, but what leaves from it no longer reaches the client (a
     * firewall there drops it). Data goes unanswered, so the server starts a handshake after
     * 15 s; the retry 5 s later leaves from the address routing picks, as Linux's WireGuard
     * retries do, and the client answers that one.
     */
    @Test
    void aRetriedHandshakeLeavesFromTheAddressRoutingPicks(Lab lab) throws Exception {
        Family family = Family.V4;
        Network n = network(lab);
        String[] addresses = routedAndOther(lab, n, family);
        Setup s = start(lab, n, family, addresses[1]);
        talk(lab, s);
        assertThat(serverSeenByClient(lab, s)).isEqualTo(family.endpoint(addresses[1]));

        lab.sh(s.client(), "nft", "add", "table", "inet", "sticky");
        lab.sh(s.client(), "nft", "add", "chain", "inet", "sticky", "in", "{ type filter hook input priority 0 ; }");
        lab.sh(s.client(), "nft", "add", "rule", "inet", "sticky", "in", "ip", "saddr", addresses[1],
                "udp", "sport", String.valueOf(PORT), "drop");
        lab.spawn(s.server(), "ping", List.of("ping", "-i", "0.5", CLIENT_TUNNEL));
        boolean moved = Lab.await(Duration.ofSeconds(60),
                () -> serverSeenByClient(lab, s).equals(family.endpoint(addresses[0])));
        assertThat(moved).as("a handshake retry from " + addresses[0] + " reached the client; patchcord's log:\n"
                + lab.log("patchcord")).isTrue();
        lab.stop("ping", Duration.ofSeconds(10));
        Tunnels.ping(lab, s.server(), CLIENT_TUNNEL);
        Tunnels.ping(lab, s.client(), SERVER_TUNNEL);
    }
}
