package dev.patchcord.e2e;

import dev.patchcord.lab.Lab;
import dev.patchcord.lab.Self;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A patchcord simplevpn server in its own namespace and patchcord simplevpn clients in theirs,
 * each client joined to the server by its own veth (198.18.N.1 at the server, 198.18.N.2 at client
 * N; link 2 also has IPv6, fd00:5c:2::1 and ::2). Tunnel addresses come from the server.
 *
 * <p>The receive-only fix (a client that only receives is not dropped after 60 s) would need a
 * test over a minute long; it is proven on a test clock in {@code KeepaliveTimerTest} instead.
 */
@ExtendWith(LabExtension.class)
class SimplevpnIT {
    private static final String IFACE = "sv0";
    private static final String REFUSED = "requested static address 10.0.1.5 is already in use or not in the pool";

    private record Net(String server, String[] clients) {}

    private static Net net(Lab lab, int clients) {
        String server = lab.netns("srv");
        String[] c = new String[clients];
        for (int i = 0; i < clients; i++) {
            c[i] = lab.netns("c" + (i + 1));
            int n = i + 1;
            List<String> atServer = n == 2 ? List.of("198.18.2.1/24", "fd00:5c:2::1/64") : List.of("198.18." + n + ".1/24");
            List<String> atClient = n == 2 ? List.of("198.18.2.2/24", "fd00:5c:2::2/64") : List.of("198.18." + n + ".2/24");
            lab.link(server, atServer, c[i], atClient);
        }
        Tunnels.patchcord(lab, server, "server", "simplevpn", "server");
        return new Net(server, c);
    }

    private static void client(Lab lab, String ns, String name, String server, String... extra) {
        List<String> args = new java.util.ArrayList<>(List.of("simplevpn", "client", "-s", server, "-i", IFACE));
        args.addAll(List.of(extra));
        Tunnels.patchcord(lab, ns, name, args.toArray(String[]::new));
    }

    /** The address a client last reported, from its "address A.B.C.D" lines. */
    private static String address(Lab lab, String name) {
        Matcher m = Pattern.compile("connected to \\S+, address (\\d+\\.\\d+\\.\\d+\\.\\d+)").matcher(lab.log(name));
        String last = null;
        while (m.find()) {
            last = m.group(1);
        }
        assertThat(last).as("address in the log of " + name + ":\n" + lab.log(name)).isNotNull();
        return last;
    }

    @Test
    void clientsGetAddressesPingAndTransferThroughTheServerAndStaticAddressesAreExclusive(Lab lab) {
        Net net = net(lab, 3);
        String c1 = net.clients()[0], c2 = net.clients()[1], c3 = net.clients()[2];
        client(lab, c1, "client1", "198.18.1.1");
        client(lab, c2, "client2", "fd00:5c:2::1"); // the server listens on IPv6 too
        assertThat(address(lab, "client1")).isEqualTo("10.0.254.254");
        assertThat(address(lab, "client2")).isEqualTo("10.0.254.253");
        assertThat(lab.ip(c1, "-4", "address", "show", "dev", IFACE)).contains("10.0.254.254/16");
        assertThat(lab.log("server")).contains("WARNING: simplevpn mode is a plain tunnel");

        Tunnels.ping(lab, c1, "10.0.254.253");
        Tunnels.ping(lab, c2, "10.0.254.254");
        Tunnels.transfer(lab, c1, c2, "10.0.254.253", 20_000_000);

        // A static address, with one line per packet (-d).
        client(lab, c3, "client3", "198.18.3.1", "-a", "10.0.1.5", "-d");
        assertThat(address(lab, "client3")).isEqualTo("10.0.1.5");
        Tunnels.ping(lab, c1, "10.0.1.5");
        assertThat(lab.log("client3")).contains("server -> " + IFACE + " 84 bytes").contains(IFACE + " -> server 84 bytes");

        // The same static address again: the server closes the connection, the client says why and exits 1.
        Lab.Result refused = lab.run(c3, Duration.ofSeconds(30),
                Self.command("simplevpn", "client", "-s", "198.18.3.1", "-a", "10.0.1.5", "-i", "sv1").toArray(String[]::new));
        assertThat(refused.code()).as(refused.output()).isEqualTo(1);
        assertThat(refused.output()).contains(REFUSED);
        assertThat(lab.hasInterface(c3, "sv1")).isFalse();
        assertThat(lab.log("server")).contains("asked for static address 10.0.1.5, refused: it is in use");

        // A source address the server did not assign is dropped there (the original let it through).
        lab.addAddress(c1, IFACE, "10.0.9.9/32");
        Lab.Result spoofed = lab.run(c1, Duration.ofSeconds(20), "ping", "-c", "3", "-i", "0.2", "-W", "1",
                "-I", "10.0.9.9", "10.0.254.253");
        assertThat(spoofed.code()).isNotZero();

        String serverCounters = Tunnels.stop(lab, "server");
        assertThat(Tunnels.dropped(serverCounters, "not-allowed")).as(serverCounters).isGreaterThanOrEqualTo(3);
        assertThat(Tunnels.dropped(serverCounters, "malformed")).as(serverCounters).isZero();
        for (String name : List.of("client1", "client2", "client3")) {
            assertThat(Tunnels.stop(lab, name)).contains("rx ").contains("tx ");
        }
        assertThat(lab.hasInterface(c1, IFACE)).as("interface removed at exit").isFalse();
    }

    @Test
    void clientsReconnectToARestartedServerAndTakeTheAddressesItGives(Lab lab) {
        Net net = net(lab, 2);
        String c1 = net.clients()[0], c2 = net.clients()[1];
        client(lab, c1, "client1", "198.18.1.1", "-p", "2002");
        client(lab, c2, "client2", "198.18.2.1");
        Tunnels.ping(lab, c1, "10.0.254.253");

        Tunnels.stop(lab, "server");
        assertThat(Lab.await(Duration.ofSeconds(10), () -> lab.log("client1").contains("lost")
                && lab.log("client2").contains("lost"))).isTrue();
        Tunnels.patchcord(lab, net.server(), "server2", "simplevpn", "server");
        assertThat(Lab.await(Duration.ofSeconds(20), () -> count(lab.log("client1"), "connected to") == 2
                && count(lab.log("client2"), "connected to") == 2))
                .as(lab.log("client1") + lab.log("client2")).isTrue();

        // Whoever came back first has .254 now; each interface carries its current address only.
        String a1 = address(lab, "client1"), a2 = address(lab, "client2");
        assertThat(List.of(a1, a2)).containsExactlyInAnyOrder("10.0.254.254", "10.0.254.253");
        String shown = lab.ip(c1, "-4", "address", "show", "dev", IFACE);
        assertThat(shown).contains(a1 + "/16").doesNotContain(a2 + "/16");
        Tunnels.ping(lab, c1, a2);
        Tunnels.ping(lab, c2, a1);
    }

    @Test
    void aStaticAddressOutsideThePoolIsRefusedAndABadServerNameIsReportedAtOnce(Lab lab) {
        Net net = net(lab, 1);
        Lab.Result outside = lab.run(net.clients()[0], Duration.ofSeconds(30),
                Self.command("simplevpn", "client", "-s", "198.18.1.1", "-a", "10.0.1.1").toArray(String[]::new));
        assertThat(outside.code()).as(outside.output()).isEqualTo(1);
        assertThat(outside.output()).contains("requested static address 10.0.1.1 is already in use or not in the pool");
        assertThat(lab.log("server")).contains("refused: it is not in the pool");

        Lab.Result badName = lab.run(net.clients()[0], Duration.ofSeconds(30),
                Self.command("simplevpn", "client", "-s", "no-such-host.invalid").toArray(String[]::new));
        assertThat(badName.code()).isEqualTo(1);
        assertThat(badName.output()).contains("cannot resolve host 'no-such-host.invalid'");
    }

    private static int count(String text, String what) {
        return text.split(Pattern.quote(what), -1).length - 1;
    }
}
