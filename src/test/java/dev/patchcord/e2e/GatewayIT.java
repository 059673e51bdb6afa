package dev.patchcord.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.patchcord.lab.Lab;
import dev.patchcord.lab.Self;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static dev.patchcord.e2e.WireGuardPeers.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A tunnel gateway: a LAN (192.168.100.8/29, udptun's "Tunnel Gateway" example with two of its
 * three servers) sits behind a gateway that forwards between the LAN and a tunnel to one remote
 * host. The gateway ("gw") and the remote ("right") are joined by a veth standing for the Internet
 * (198.18.0.1 and 198.18.0.2); the LAN is a bridge in a namespace of its own, with the gateway's
 * LAN side at 192.168.100.9 and the servers at .10 and .11. docs/gateways.md is the recipe these
 * tests prove.
 */
@ExtendWith(LabExtension.class)
class GatewayIT {
    private static final String GW_PUBLIC = "198.18.0.1", RIGHT_PUBLIC = "198.18.0.2";
    private static final String LAN = "192.168.100.8/29", GW_LAN = "192.168.100.9";
    private static final String[] SERVERS = {"192.168.100.10", "192.168.100.11"};

    /** The namespaces: the gateway, the remote host and the LAN's servers. */
    private record Site(String gw, String right, String[] servers) {}

    /**
     * Builds the site; each server routes {@code tunnelSubnet} via the gateway's LAN address, as
     * udptun's example does with {@code route add -net 192.168.100.0/29 gw 192.168.100.9}.
     */
    private static Site site(Lab lab, String tunnelSubnet) {
        String gw = lab.netns("gw");
        String right = lab.netns("right");
        lab.link(gw, List.of(GW_PUBLIC + "/24"), right, List.of(RIGHT_PUBLIC + "/24"));
        // A bridge rather than one veth per server, so that the servers share one segment as on a real LAN.
        String lan = lab.netns("lan");
        lab.ip(lan, "link", "add", "br0", "type", "bridge");
        lab.ip(lan, "link", "set", "br0", "up");
        String[] uplink = lab.link(gw, List.of(GW_LAN + "/29"), lan, List.of());
        lab.ip(lan, "link", "set", uplink[1], "master", "br0");
        String[] servers = new String[SERVERS.length];
        for (int i = 0; i < SERVERS.length; i++) {
            servers[i] = lab.netns("s" + (i + 1));
            String[] port = lab.link(servers[i], List.of(SERVERS[i] + "/29"), lan, List.of());
            lab.ip(lan, "link", "set", port[1], "master", "br0");
            lab.ip(servers[i], "route", "add", tunnelSubnet, "via", GW_LAN);
        }
        return new Site(gw, right, servers);
    }

    private static String forwarding(Lab lab, String ns) {
        return lab.sh(ns, "cat", "/proc/sys/net/ipv4/ip_forward").strip();
    }

    private static void assertNoPing(Lab lab, String ns, String target) {
        Lab.Result r = lab.run(ns, Duration.ofSeconds(10), "ping", "-c", "1", "-W", "1", target);
        assertThat(r.code()).as("ping " + target + " from " + ns + " must fail:\n" + r.output()).isNotZero();
    }

    /** udptun's example as written: both ends use -A, the gateway forwards, "right" routes the LAN via the gateway. */
    @Test
    void udptunGatewayJoinsItsLanToTheRemoteHost(Lab lab) {
        Site site = site(lab, "192.168.100.0/29");
        Tunnels.patchcord(lab, site.gw(), "ut-gw", "udptun", "-d", "udptun", "-A", RIGHT_PUBLIC);
        lab.addAddress(site.gw(), "udptun", "192.168.100.1/29");
        Tunnels.patchcord(lab, site.right(), "ut-right", "udptun", "-d", "udptun", "-A", GW_PUBLIC);
        lab.addAddress(site.right(), "udptun", "192.168.100.2/29");
        lab.ip(site.right(), "route", "add", LAN, "via", "192.168.100.1");

        // The tunnel itself works, but without forwarding the gateway does not pass packets on.
        Tunnels.ping(lab, site.right(), "192.168.100.1");
        assertThat(forwarding(lab, site.gw())).isEqualTo("0");
        assertNoPing(lab, site.right(), SERVERS[0]);

        lab.sh(site.gw(), "sysctl", "-qw", "net.ipv4.ip_forward=1");
        for (int i = 0; i < SERVERS.length; i++) {
            Tunnels.ping(lab, site.right(), SERVERS[i]);
            Tunnels.ping(lab, site.servers()[i], "192.168.100.2");
        }
        Tunnels.stop(lab, "ut-gw");
        Tunnels.stop(lab, "ut-right");
    }

    /**
     * The same gateway with a hosts file at the remote: udptun's table has no prefixes, so every LAN
     * address that should be reachable is listed, each pointing at the gateway; an address left out
     * is answered at once by a local "host unreachable".
     */
    @Test
    void udptunHostsFileNamesEachLanAddressBehindTheGateway(Lab lab) throws Exception {
        Site site = site(lab, "192.168.100.0/29");
        lab.sh(site.gw(), "sysctl", "-qw", "net.ipv4.ip_forward=1");
        Path hosts = Files.writeString(lab.logDir().resolve("hosts.json"), """
                { nodes : {
                    "192.168.100.1":  { "host": "%s" },
                    "192.168.100.10": { "host": "%s" },   // a LAN server behind the gateway
                } }
                """.formatted(GW_PUBLIC, GW_PUBLIC));
        Tunnels.patchcord(lab, site.gw(), "ut-gw", "udptun", "-d", "udptun", "-A", RIGHT_PUBLIC);
        lab.addAddress(site.gw(), "udptun", "192.168.100.1/29");
        Tunnels.patchcord(lab, site.right(), "ut-right", "udptun", "-d", "udptun", "--hosts-file", hosts.toString());
        lab.addAddress(site.right(), "udptun", "192.168.100.2/29");
        lab.ip(site.right(), "route", "add", LAN, "via", "192.168.100.1");

        Tunnels.ping(lab, site.right(), SERVERS[0]);
        Tunnels.ping(lab, site.servers()[0], "192.168.100.2");
        Lab.Result unlisted = lab.run(site.right(), Duration.ofSeconds(10), "ping", "-c", "1", "-W", "1", SERVERS[1]);
        assertThat(unlisted.code()).isNotZero();
        assertThat(unlisted.output()).contains("Destination Host Unreachable");
        String counters = Tunnels.stop(lab, "ut-right");
        assertThat(Tunnels.dropped(counters, "no-route")).as(counters).isEqualTo(1);
    }

    /**
     * The encrypted gateway: the remote lists the LAN in the gateway's AllowedIPs (which also routes
     * the LAN into its tunnel), the gateway turns forwarding on in PostUp. A second LAN behind the
     * gateway (192.168.200.0/24, not in those AllowedIPs) shows AllowedIPs acting as the remote's
     * source filter: its packets are forwarded and encrypted by the gateway, and dropped by the remote.
     */
    @Test
    void wireGuardGatewayJoinsItsLanAndTheRemoteAcceptsOnlyTheAllowedSubnet(Lab lab) throws Exception {
        Site site = site(lab, "10.91.0.0/24");
        String other = lab.netns("s3");
        lab.link(site.gw(), List.of("192.168.200.1/24"), other, List.of("192.168.200.10/24"));
        lab.ip(other, "route", "add", "10.91.0.0/24", "via", "192.168.200.1");

        KeyPair gwKeys = keys(lab, site.gw()), rightKeys = keys(lab, site.right());
        String gwIf = ifname("g"), rightIf = ifname("r");
        Path gwConf = config(lab, gwIf, """
                [Interface]
                PrivateKey = %s
                ListenPort = 51820
                Address = 10.91.0.1/24
                PostUp = sysctl -qw net.ipv4.ip_forward=1
                [Peer]
                PublicKey = %s
                AllowedIPs = 10.91.0.2/32
                Endpoint = %s:51820
                """.formatted(gwKeys.privateKey(), rightKeys.publicKey(), RIGHT_PUBLIC));
        Path rightConf = config(lab, rightIf, """
                [Interface]
                PrivateKey = %s
                ListenPort = 51820
                Address = 10.91.0.2/24
                [Peer]
                PublicKey = %s
                AllowedIPs = 10.91.0.1/32, %s
                Endpoint = %s:51820
                """.formatted(rightKeys.privateKey(), gwKeys.publicKey(), LAN, GW_PUBLIC));

        assertThat(forwarding(lab, site.gw())).isEqualTo("0");
        patchcordUp(lab, site.gw(), "pc-gw", gwConf);
        patchcordUp(lab, site.right(), "pc-right", rightConf);
        // PostUp ran inside the gateway's namespace, where patchcord runs.
        assertThat(forwarding(lab, site.gw())).isEqualTo("1");
        assertThat(lab.sh(site.right(), "ip", "route", "show", LAN)).contains("dev " + rightIf);

        for (int i = 0; i < SERVERS.length; i++) {
            Tunnels.ping(lab, site.right(), SERVERS[i]);
            Tunnels.ping(lab, site.servers()[i], "10.91.0.2");
        }

        Lab.Result outside = lab.run(other, Duration.ofSeconds(20), "ping", "-c", "3", "-i", "0.2", "-W", "1", "10.91.0.2");
        assertThat(outside.code()).as(outside.output()).isNotZero();
        JsonNode shown = new ObjectMapper().readTree(
                lab.sh(site.right(), Self.command("show", rightIf, "--json").toArray(String[]::new)));
        JsonNode dropped = shown.get(0).get("dropped");
        assertThat(dropped.path("not-allowed").asLong()).as(dropped.toString()).isGreaterThanOrEqualTo(3);
    }
}
