package dev.patchcord.e2e;

import dev.patchcord.lab.Lab;
import dev.patchcord.lab.Self;
import dev.patchcord.tools.TestTools;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.patchcord.e2e.Tunnels.A4;
import static dev.patchcord.e2e.Tunnels.B4;
import static dev.patchcord.e2e.WireGuardPeers.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Faults of the network and of the processes, between two patchcord peers ({@code a} at
 * 10.80.0.1, {@code b} at 10.80.0.2) in private namespaces: a lossy, reordering, duplicating and
 * slow underlay; a peer killed and restarted; a peer whose underlay address changes; an address
 * server killed and restarted under its clients.
 *
 * <p>The bad underlay is the kernel's netem on both ends of the veth when the kernel has it;
 * otherwise {@code test-tools impair} ({@link TestTools}), a user-space relay with netem's parameters, sits
 * between the two peers. Which one ran is printed.
 */
@ExtendWith(LabExtension.class)
class FaultsIT {
    private static final int PORT = 51820, RELAY_PORT = 51821;
    /**
     * The transfer through the bad underlay: 10 MB in the suite, where it takes about a minute;
     * {@code PATCHCORD_FAULTS_MB=100} gives the long run (6 to 15 minutes here).
     */
    private static final long TRANSFER = Long.parseLong(System.getenv().getOrDefault("PATCHCORD_FAULTS_MB", "10")) * 1_000_000;

    private record Pair(String a, String b, String ifA, String ifB, Path confA, Path confB) {}

    /**
     * Writes the two configurations. {@code a} reaches {@code b} at {@code endpointOfB}; {@code b}
     * has {@code extraB} in its [Peer] (an Endpoint, a PersistentKeepalive) or learns {@code a}'s
     * endpoint from its packets.
     */
    private static Pair configs(Lab lab, String[] ns, String endpointOfB, String extraB) throws Exception {
        KeyPair ka = keys(lab, ns[0]), kb = keys(lab, ns[1]);
        String ifA = ifname("a"), ifB = ifname("b");
        Path confA = config(lab, ifA, """
                [Interface]
                PrivateKey = %s
                ListenPort = %d
                Address = 10.80.0.1/24
                [Peer]
                PublicKey = %s
                AllowedIPs = 10.80.0.2/32
                Endpoint = %s
                """.formatted(ka.privateKey(), PORT, kb.publicKey(), endpointOfB));
        Path confB = config(lab, ifB, """
                [Interface]
                PrivateKey = %s
                ListenPort = %d
                Address = 10.80.0.2/24
                [Peer]
                PublicKey = %s
                AllowedIPs = 10.80.0.1/32
                %s
                """.formatted(kb.privateKey(), PORT, ka.publicKey(), extraB));
        return new Pair(ns[0], ns[1], ifA, ifB, confA, confB);
    }

    // ---- a bad underlay -------------------------------------------------------------------------

    /** Where the impairment is, and how to read what it did. */
    private record Impairment(boolean netem, String endpointOfB, String[] veths) {
        @Override
        public String toString() {
            return netem ? "netem on both veth ends" : "the user-space relay (this kernel has no sch_netem)";
        }
    }

    /**
     * Impairs the path between {@code a} and {@code b} in both directions. {@code netem} is the
     * netem argument list; {@code relay} the same settings for {@code test-tools impair} ({@link TestTools}).
     */
    private static Impairment impair(Lab lab, String[] ns, String netem, String... relay) {
        String[] veths = {lab.prefix() + "v0a", lab.prefix() + "v0b"};
        Lab.Result probe = lab.run(ns[0], Duration.ofSeconds(10), "tc", "qdisc", "add", "dev", veths[0], "root", "netem", "delay", "0ms");
        if (probe.code() == 0) {
            lab.sh(ns[0], "tc", "qdisc", "del", "dev", veths[0], "root");
            for (int i = 0; i < 2; i++) {
                List<String> cmd = new java.util.ArrayList<>(List.of("tc", "qdisc", "add", "dev", veths[i], "root", "netem"));
                cmd.addAll(List.of(netem.split(" ")));
                lab.sh(ns[i], cmd.toArray(String[]::new));
            }
            return new Impairment(true, B4 + ":" + PORT, veths);
        }
        assertThat(probe.output()).as("tc fails only for want of netem").containsIgnoringCase("unknown");
        List<String> cmd = new java.util.ArrayList<>(TestTools.command("impair", "--listen", B4 + ":" + RELAY_PORT,
                "--to", B4 + ":" + PORT));
        cmd.addAll(List.of(relay));
        lab.spawn(ns[1], "impair", cmd);
        assertThat(Lab.await(Duration.ofSeconds(20), () -> lab.log("impair").contains("relaying")))
                .as("relay up: " + lab.log("impair")).isTrue();
        return new Impairment(false, B4 + ":" + RELAY_PORT, veths);
    }

    /** What the impairment did, ending the relay if it was one. */
    private static String impairmentReport(Lab lab, Impairment imp, String[] ns) {
        if (imp.netem()) {
            return lab.sh(ns[0], "tc", "-s", "qdisc", "show", "dev", imp.veths()[0])
                    + lab.sh(ns[1], "tc", "-s", "qdisc", "show", "dev", imp.veths()[1]);
        }
        lab.stop("impair", Duration.ofSeconds(15));
        return lab.log("impair").lines().filter(l -> l.startsWith("impair:")).findFirst()
                .orElseThrow(() -> new AssertionError("no report from the relay:\n" + lab.log("impair")));
    }

    private static long count(String report, String key) {
        Matcher m = Pattern.compile(key + "[= ](\\d+)").matcher(report);
        long sum = 0;
        while (m.find()) {
            sum += Long.parseLong(m.group(1));
        }
        return sum;
    }

    @Test
    void aTransferArrivesIntactThroughLossReorderingDuplicationAndDelay(Lab lab) throws Exception {
        String[] ns = Tunnels.pair(lab);
        Impairment imp = impair(lab, ns, "delay 50ms reorder 5% loss 5% duplicate 1%",
                "--delay", "50", "--reorder", "5", "--loss", "5", "--duplicate", "1");
        Pair p = configs(lab, ns, imp.endpointOfB(), "");
        patchcordUp(lab, p.b(), "b", p.confB());
        patchcordUp(lab, p.a(), "a", p.confA());
        // On a path built to lose packets, one answer shows the tunnel is up; the transfer below
        // is the real check (three answers in a row, as Tunnels.reach asks, is not guaranteed).
        assertThat(Lab.await(Duration.ofSeconds(60), () -> lab.run(p.a(), Duration.ofSeconds(10),
                "ping", "-c", "1", "-W", "2", "10.80.0.2").code() == 0)).as("a ping through the lossy tunnel").isTrue();
        // Slow, and slower some runs than others (5 to 15 minutes seen): TCP retransmits a fifth
        // of what it sends, and the packets that skip the delay can make BBR believe the path's
        // round trip is well under a millisecond, which shrinks its window to a few packets.
        double seconds = Tunnels.transfer(lab, p.a(), p.b(), "10.80.0.2", TRANSFER, Duration.ofMinutes(30));
        String report = impairmentReport(lab, imp, ns);
        System.out.printf("FaultsIT: %d MB through %s (50 ms, 5 %% loss, 5 %% reordering, 1 %% duplication) "
                + "in %.1f s: %s%n", TRANSFER / 1_000_000, imp, seconds, report.replace('\n', ' '));
        String a = Tunnels.stop(lab, "a"), b = Tunnels.stop(lab, "b");
        System.out.println("FaultsIT: a " + a + "\nFaultsIT: b " + b);
        if (imp.netem()) {
            assertThat(count(report, "dropped")).as("netem lost packets: " + report).isPositive();
        } else {
            assertThat(count(report, "lost")).as(report).isPositive();
            assertThat(count(report, "reordered")).as(report).isPositive();
            assertThat(count(report, "duplicated")).as(report).isPositive();
        }
        // The duplicates reached the peers and were refused as replays, never delivered twice:
        // with the relay, which counts what it duplicated, all of them (but a handshake's).
        long replayed = Tunnels.dropped(a, "replayed") + Tunnels.dropped(b, "replayed");
        assertThat(replayed).as(a + "\n" + b).isPositive();
        if (!imp.netem()) {
            long duplicated = count(report, "duplicated");
            assertThat(replayed).as(report + "\n" + a + "\n" + b).isBetween(duplicated * 98 / 100 - 10, duplicated);
        }
        assertThat(Tunnels.dropped(b, "bad-auth")).as(b).isZero();
    }

    @Test
    void everyDuplicatedTransportMessageIsDroppedAsAReplayAndCounted(Lab lab) throws Exception {
        String[] ns = Tunnels.pair(lab);
        Impairment imp = impair(lab, ns, "duplicate 100%", "--duplicate", "100", "--limit", "100000");
        Pair p = configs(lab, ns, imp.endpointOfB(), "");
        patchcordUp(lab, p.b(), "b", p.confB());
        patchcordUp(lab, p.a(), "a", p.confA());
        Tunnels.reach(lab, p.a(), "10.80.0.2");
        Lab.Result ping = lab.run(p.a(), Duration.ofSeconds(30), "ping", "-c", "20", "-i", "0.05", "-W", "2", "10.80.0.2");
        assertThat(ping.code()).as(ping.output()).isZero();
        assertThat(ping.output()).as("no echo reply was delivered twice").doesNotContain("DUP!")
                .contains("20 received");
        Tunnels.transfer(lab, p.a(), p.b(), "10.80.0.2", 20_000_000);
        String report = impairmentReport(lab, imp, ns);
        String a = Tunnels.stop(lab, "a"), b = Tunnels.stop(lab, "b");
        System.out.println("FaultsIT: duplication through " + imp + ": " + report.replace('\n', ' ')
                + "\nFaultsIT: a " + a + "\nFaultsIT: b " + b);
        // Every transport message's second copy is a replay (the handshake messages' copies are
        // refused for other reasons), and no copy was delivered: rx counts each packet once.
        long replayed = Tunnels.dropped(a, "replayed") + Tunnels.dropped(b, "replayed");
        if (!imp.netem()) {
            // The relay says how many it duplicated (a busy machine may drop some datagrams on
            // the way to it, which then were never duplicated).
            long duplicated = count(report, "duplicated");
            assertThat(replayed).as(report + "\n" + a + "\n" + b).isBetween(duplicated * 98 / 100 - 10, duplicated);
        }
        for (String[] dir : new String[][]{{a, b}, {b, a}}) {
            long sent = Tunnels.packets(dir[0], "tx");
            if (imp.netem()) {
                assertThat(Tunnels.dropped(dir[1], "replayed")).as("replays of %d datagrams sent:\n%s\n%s", sent,
                        dir[0], dir[1]).isBetween(sent * 95 / 100 - 5, sent);
            }
            assertThat(Tunnels.packets(dir[1], "rx")).as(dir[1]).isLessThanOrEqualTo(sent);
            assertThat(Tunnels.dropped(dir[1], "bad-auth")).as(dir[1]).isZero();
        }
    }

    // ---- process and address faults -------------------------------------------------------------

    @Test
    void aPeerKilledMidTransferAndRestartedCarriesOnByItself(Lab lab) throws Exception {
        String[] ns = Tunnels.pair(lab);
        Pair p = configs(lab, ns, B4 + ":" + PORT, "Endpoint = " + A4 + ":" + PORT);
        Process b = patchcordUp(lab, p.b(), "b", p.confB());
        Process a = patchcordUp(lab, p.a(), "a", p.confA());
        Tunnels.reach(lab, p.a(), "10.80.0.2");

        long bytes = 1_000_000_000;
        CompletableFuture<Double> transfer = CompletableFuture.supplyAsync(
                () -> Tunnels.transfer(lab, p.a(), p.b(), "10.80.0.2", bytes, Duration.ofMinutes(5)));
        assertThat(Lab.await(Duration.ofSeconds(60), () -> txBytes(lab, p.a(), p.ifA()) > 50_000_000))
                .as("transfer under way").isTrue();
        assertThat(transfer).as("still under way when b is killed").isNotDone();
        // SIGKILL: b cleans nothing up (its socket file stays behind), as after a crash.
        long killed = b.pid();
        lab.sh(p.a(), "kill", "-KILL", String.valueOf(killed));
        assertThat(b.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(Lab.await(Duration.ofSeconds(10), () -> !lab.hasInterface(p.b(), p.ifB()))).isTrue();
        // b stays away until a has sent into the void (its TCP retransmits through the tunnel).
        long txAtKill = txBytes(lab, p.a(), p.ifA());
        assertThat(Lab.await(Duration.ofSeconds(10), () -> txBytes(lab, p.a(), p.ifA()) > txAtKill))
                .as("a sends to the dead peer").isTrue();
        patchcordUp(lab, p.b(), "b2", p.confB());
        long restarted = System.nanoTime();
        long rxBefore = rxBytes(lab, p.a(), p.ifA());

        // Nothing is done at a: the interrupted TCP transfer itself resumes and completes, intact.
        assertThat(Lab.await(Duration.ofSeconds(120), () -> rxBytes(lab, p.a(), p.ifA()) > rxBefore + 100_000))
                .as("a hears from the restarted b").isTrue();
        double resumed = (System.nanoTime() - restarted) / 1e9;
        double seconds = transfer.get(5, TimeUnit.MINUTES);
        System.out.printf("FaultsIT: 1 GB with a restart of the receiving peer in %.1f s; traffic resumed %.1f s "
                + "after the restart%n", seconds, resumed);
        Tunnels.ping(lab, p.a(), "10.80.0.2");
        assertThat(a.isAlive()).as("a ran throughout").isTrue();
        assertThat(lab.log("a")).doesNotContain("stopped");
    }

    @Test
    void theOtherEndFollowsAPeerWhoseUnderlayAddressChanges(Lab lab) throws Exception {
        String[] ns = Tunnels.pair(lab);
        Pair p = configs(lab, ns, B4 + ":" + PORT, "Endpoint = " + A4 + ":" + PORT + "\nPersistentKeepalive = 1");
        patchcordUp(lab, p.b(), "b", p.confB());
        patchcordUp(lab, p.a(), "a", p.confA(), "--verbose");
        Tunnels.reach(lab, p.a(), "10.80.0.2");
        assertThat(endpoints(lab, p.a(), p.ifA())).contains(B4 + ":" + PORT);

        // b's host moves: the old address goes first, then a new one in the same subnet comes.
        String vethB = lab.prefix() + "v0b";
        String moved = "198.18.0.77";
        lab.ip(p.b(), "addr", "del", B4 + "/24", "dev", vethB);
        lab.addAddress(p.b(), vethB, moved + "/24");
        // b's next keepalive comes from the new address; a believes it because it authenticates.
        assertThat(Lab.await(Duration.ofSeconds(20), () -> endpoints(lab, p.a(), p.ifA()).contains(moved + ":" + PORT)))
                .as("a learned the new endpoint; log:\n" + lab.log("a")).isTrue();
        assertThat(lab.log("a")).contains("is now at " + moved + ":" + PORT);
        Lab.Result show = lab.run(p.a(), Duration.ofSeconds(10), Self.command("show", p.ifA(), "--json").toArray(String[]::new));
        assertThat(show.output()).contains("\"endpoint\": \"" + moved + ":" + PORT + "\"");
        // Traffic started at a now goes to the new address.
        Tunnels.ping(lab, p.a(), "10.80.0.2");
        Tunnels.transfer(lab, p.a(), p.b(), "10.80.0.2", 20_000_000);
        Tunnels.transfer(lab, p.b(), p.a(), "10.80.0.1", 20_000_000);
    }

    @Test
    void clientsKeepTheirLeasesAcrossAnAddressServerKilledAndRestarted(Lab lab) throws Exception {
        int clients = 2;
        String srv = lab.netns("srv");
        String[] ns = new String[clients];
        KeyPair[] keys = new KeyPair[clients];
        for (int i = 0; i < clients; i++) {
            ns[i] = lab.netns("c" + (i + 1));
            lab.link(srv, List.of("198.18." + (i + 1) + ".1/24"), ns[i], List.of("198.18." + (i + 1) + ".2/24"));
            keys[i] = keys(lab, ns[i]);
        }
        KeyPair srvKeys = keys(lab, srv);
        Path leases = lab.logDir().resolve("srv.leases");
        StringBuilder conf = new StringBuilder("""
                [Interface]
                PrivateKey = %s
                ListenPort = %d
                Address = 10.9.0.1/24
                Hub = true
                [Pool]
                Range = 10.9.0.0/24
                LeaseTime = 40
                DeadPeerTimeout = 300
                LeaseFile = %s
                """.formatted(srvKeys.privateKey(), PORT, leases));
        for (KeyPair k : keys) {
            conf.append("[Peer]\nPublicKey = ").append(k.publicKey()).append('\n');
        }
        Path srvConf = config(lab, ifname("s"), conf.toString());
        Process server = patchcordUp(lab, srv, "srv", srvConf);
        String[] addr = new String[clients];
        String[] ifc = new String[clients];
        for (int i = 0; i < clients; i++) {
            ifc[i] = ifname("c");
            patchcordUp(lab, ns[i], "c" + (i + 1), config(lab, ifc[i], """
                    [Interface]
                    PrivateKey = %s
                    Address = auto
                    [Peer]
                    PublicKey = %s
                    AllowedIPs = 10.9.0.0/24
                    Endpoint = 198.18.%d.1:%d
                    PersistentKeepalive = 1
                    """.formatted(keys[i].privateKey(), srvKeys.publicKey(), i + 1, PORT)));
            addr[i] = awaitLease(lab, "c" + (i + 1));
        }
        Tunnels.ping(lab, ns[0], addr[1]);
        Map<String, Long> ends = leaseEnds(leases);
        assertThat(ends).hasSize(clients);

        // The server dies without a word, its sessions with it, and comes back once every client
        // has sent it something that went unanswered (a keepalive goes out every second).
        lab.sh(srv, "kill", "-KILL", String.valueOf(server.pid()));
        assertThat(server.waitFor(10, TimeUnit.SECONDS)).isTrue();
        for (int i = 0; i < clients; i++) {
            String client = ns[i], iface = ifc[i];
            long before = bytesSent(lab, client, iface);
            assertThat(Lab.await(Duration.ofSeconds(10), () -> bytesSent(lab, client, iface) > before))
                    .as("c" + (i + 1) + " sends to the dead server").isTrue();
        }
        patchcordUp(lab, srv, "srv2", srvConf);
        long restarted = System.nanoTime();
        assertThat(lab.log("srv2")).contains(clients + " leases restored from " + leases);

        // The clients' sessions are gone at the server: traffic brings new handshakes (after
        // REKEY_TIMEOUT + KEEPALIVE_TIMEOUT, about 15 s, as with any WireGuard responder that
        // restarts), then every client reaches every other through the new server.
        for (int i = 0; i < clients; i++) {
            String from = ns[i], to = addr[(i + 1) % clients];
            assertThat(Lab.await(Duration.ofSeconds(45), () -> lab.run(from, Duration.ofSeconds(5), "ping", "-c", "1",
                    "-W", "1", to).code() == 0)).as("c" + (i + 1) + " reaches " + to + "; log:\n" + lab.log("srv2")).isTrue();
        }
        System.out.printf("FaultsIT: clients reach each other %.1f s after the address server's restart%n",
                (System.nanoTime() - restarted) / 1e9);
        // Renewal (at half of the 40 s lease) goes to the new server and keeps the same addresses:
        // the lease file's end times move on, and no client ever lost or changed its address.
        assertThat(Lab.await(Duration.ofSeconds(40), () -> {
            Map<String, Long> now = leaseEnds(leases);
            return ends.keySet().stream().allMatch(k -> now.getOrDefault(k, 0L) > ends.get(k));
        })).as("leases renewed with the restarted server: " + Files.readString(leases)).isTrue();
        for (int i = 0; i < clients; i++) {
            String log = lab.log("c" + (i + 1));
            assertThat(LEASED.matcher(log).results().count()).as(log).isEqualTo(1);
            assertThat(log).doesNotContain("lease ended").doesNotContain("refused");
            assertThat(lab.ip(ns[i], "-4", "address", "show")).contains(addr[i] + "/24");
            Tunnels.ping(lab, ns[i], addr[(i + 1) % clients]);
        }
        assertThat(Files.readString(leases)).contains(keys[0].publicKey() + " " + addr[0] + " ")
                .contains(keys[1].publicKey() + " " + addr[1] + " ");
    }

    /** The bytes interface {@code ifname} has sent to its one peer ({@code wg show ... transfer}). */
    private static long bytesSent(Lab lab, String ns, String ifname) {
        String[] f = lab.sh(ns, "wg", "show", ifname, "transfer").strip().split("\\s+");
        return Long.parseLong(f[2]);
    }

    private static final Pattern LEASED = Pattern.compile("address (\\S+)/24 from the server \\(lease \\d+ s\\)");

    private static String awaitLease(Lab lab, String name) {
        assertThat(Lab.await(Duration.ofSeconds(30), () -> LEASED.matcher(lab.log(name)).find()))
                .as(name + " leased an address; log:\n" + lab.log(name)).isTrue();
        Matcher m = LEASED.matcher(lab.log(name));
        assertThat(m.find()).isTrue();
        return m.group(1);
    }

    /** Public key to the end of its lease, from the lease file ({@code KEY ADDRESSES END} lines). */
    private static Map<String, Long> leaseEnds(Path file) {
        Map<String, Long> ends = new java.util.HashMap<>();
        try {
            for (String line : Files.readAllLines(file)) {
                String[] f = line.strip().split("\\s+");
                if (f.length == 3 && !line.startsWith("#")) {
                    ends.put(f[0], Long.parseLong(f[2]));
                }
            }
        } catch (java.io.IOException | NumberFormatException e) {
            // Being replaced at this moment: read again next time.
        }
        return ends;
    }

    /** {@code wg show IFNAME endpoints}, through patchcord's configuration socket. */
    private static String endpoints(Lab lab, String ns, String ifname) {
        Lab.Result r = lab.run(ns, Duration.ofSeconds(10), "wg", "show", ifname, "endpoints");
        return r.code() == 0 ? r.output() : "";
    }

    /** Bytes patchcord has sent to its (single) peer, per {@code wg show IFNAME transfer}. */
    private static long txBytes(Lab lab, String ns, String ifname) {
        return transfer(lab, ns, ifname, 2);
    }

    /** Bytes patchcord has received from its (single) peer. */
    private static long rxBytes(Lab lab, String ns, String ifname) {
        return transfer(lab, ns, ifname, 1);
    }

    private static long transfer(Lab lab, String ns, String ifname, int field) {
        Lab.Result r = lab.run(ns, Duration.ofSeconds(10), "wg", "show", ifname, "transfer");
        String[] f = r.output().strip().split("\\s+");
        return r.code() == 0 && f.length == 3 ? Long.parseLong(f[field]) : 0;
    }
}
