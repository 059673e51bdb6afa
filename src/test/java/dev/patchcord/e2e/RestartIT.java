package dev.patchcord.e2e;

import dev.patchcord.lab.Lab;
import dev.patchcord.lab.Self;
import dev.patchcord.sys.NotifyListener;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.patchcord.e2e.Tunnels.A4;
import static dev.patchcord.e2e.Tunnels.B4;
import static dev.patchcord.e2e.WireGuardPeers.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code patchcord restart}: the running process hands its interface, sockets and sessions to a
 * successor, and the tunnel does not drop. Against wireguard-go (no new handshake, at most two
 * pings lost at 100 a second), between two patchcord peers (a paced 200 MB TCP transfer through
 * three restarts on each side, intact, with its longest stall measured), over TCP, in TAP mode (the
 * learned MAC addresses handed over too), for a hub with
 * an address pool and five clients, and with a successor that fails (the running process carries on);
 * with systemd's notify messages ({@code Type=notify}) as a service manager would receive them.
 */
@ExtendWith(LabExtension.class)
class RestartIT {
    private static final Pattern PINGS = Pattern.compile("(\\d+) packets transmitted, (\\d+) received");

    /** The pid a tunnel's pid file names now (the successor writes it once the old process has gone). */
    static long pid(String ifname) throws Exception {
        return Long.parseLong(Files.readString(Path.of("/run/patchcord/" + ifname + ".pid")).strip());
    }

    private static Lab.Result restart(Lab lab, String ns, String ifname) {
        return lab.run(ns, Duration.ofSeconds(150), Self.command("restart", ifname).toArray(String[]::new));
    }

    /** Restarts and asserts it worked: a new pid, the old process gone with status 0 if the lab started it. */
    private static long restartOk(Lab lab, String ns, String ifname, String name) throws Exception {
        long before = pid(ifname);
        Lab.Result r = restart(lab, ns, ifname);
        assertThat(r.code()).as("restart " + ifname + ": " + r.output() + "\nlog:\n" + lab.log(name)).isZero();
        long after = pid(ifname);
        assertThat(after).as(r.output()).isNotEqualTo(before);
        // It exits right after its BYE, which the successor waits for before it writes the pid file.
        assertThat(Lab.await(Duration.ofSeconds(10), () -> ProcessHandle.of(before).map(h -> !h.isAlive()).orElse(true)))
                .as("old process gone").isTrue();
        return after;
    }

    /**
     * Stops the successors a restart left (the lab knows only the first process of each tunnel),
     * by the pid their pid files name, before the lab removes the namespaces.
     */
    static void stopSuccessors(String... ifnames) {
        for (String ifname : ifnames) {
            try {
                ProcessHandle.of(pid(ifname)).ifPresent(h -> {
                    h.destroy();
                    try {
                        h.onExit().get(20, TimeUnit.SECONDS);
                    } catch (Exception e) {
                        h.destroyForcibly();
                    }
                });
            } catch (Exception e) {
                // No pid file: nothing was left running.
            }
        }
    }

    private static String config(String key, int port, String address, String peerKey, String peerIp, String endpoint,
            String extra) {
        return """
                [Interface]
                PrivateKey = %s
                ListenPort = %d
                Address = %s/24
                %s
                [Peer]
                PublicKey = %s
                AllowedIPs = %s/32
                %s
                """.formatted(key, port, address, extra, peerKey, peerIp, endpoint == null ? "" : "Endpoint = " + endpoint);
    }

    @Test
    void aRestartDuringPingsLosesAtMostTwoAndWireguardGoSeesNoNewHandshake(Lab lab) throws Exception {
        String[] ns = Tunnels.pair(lab);
        String pcIf = ifname("r"), wgIf = ifname("w");
        KeyPair pc = keys(lab, ns[0]), wg = keys(lab, ns[1]);
        Path conf = WireGuardPeers.config(lab, pcIf, config(pc.privateKey(), 51820, "10.60.0.1", wg.publicKey(),
                "10.60.0.2", B4 + ":51820", ""));
        // systemd's side of Type=notify: the datagrams the tunnel and its successor send.
        String notifyPath = lab.logDir().resolve("notify").toString();
        NotifyListener systemd = new NotifyListener(notifyPath);
        List<String> up = new ArrayList<>(List.of("env", "NOTIFY_SOCKET=" + notifyPath));
        up.addAll(Self.command("up", "--foreground", "--verbose", conf.toString()));
        Tunnels.awaitReady(lab, "patchcord", lab.spawn(ns[0], "patchcord", up));
        wireguardGo(lab, ns[1], wgIf, wg, 51820, "10.60.0.2/24",
                List.of("peer", pc.publicKey(), "allowed-ips", "10.60.0.1/32", "endpoint", A4 + ":51820"));
        try {
            assertThat(systemd.receive()).isEqualTo("READY=1");
            Tunnels.reach(lab, ns[0], "10.60.0.2");
            String handshakes = lab.sh(ns[1], "wg", "show", wgIf, "latest-handshakes");
            long before = pid(pcIf);
            Process ping = lab.spawn(ns[0], "ping", List.of("ping", "-i", "0.01", "-c", "1500", "-W", "2", "10.60.0.2"));
            assertThat(Lab.await(Duration.ofSeconds(20), () -> lab.log("ping").lines()
                    .filter(l -> l.contains("bytes from")).count() >= 100)).as(lab.log("ping")).isTrue();
            long after = restartOk(lab, ns[0], pcIf, "patchcord");
            // The old process: reloading, then the new main pid; the successor: its pid, ready.
            assertThat(systemd.receive()).startsWith("RELOADING=1\nMONOTONIC_USEC=");
            assertThat(systemd.receive()).isEqualTo("MAINPID=" + after);
            assertThat(systemd.receive()).isEqualTo("MAINPID=" + after + "\nREADY=1");
            assertThat(ping.waitFor(90, TimeUnit.SECONDS)).isTrue();
            Matcher m = PINGS.matcher(lab.log("ping"));
            assertThat(m.find()).as(lab.log("ping")).isTrue();
            long sent = Long.parseLong(m.group(1)), received = Long.parseLong(m.group(2));
            System.out.println("restart under ping -i 0.01: " + sent + " sent, " + received + " received");
            assertThat(sent - received).as("pings lost across the restart").isLessThanOrEqualTo(2);
            assertThat(lab.sh(ns[1], "wg", "show", wgIf, "latest-handshakes")).as("no new handshake").isEqualTo(handshakes);
            assertThat(lab.processes().get("patchcord").exitValue()).as("the old process exits 0").isZero();
            String log = lab.log("patchcord");
            assertThat(log).contains("restart: successor pid " + after)
                    .contains("taken over from the running process: 1 of 1 peers' sessions carried over")
                    .contains("restart: done; this process (pid " + after + ")");
            String show = lab.sh(ns[0], Self.command("show", pcIf).toArray(String[]::new));
            assertThat(show).contains("process: pid " + after).contains("1 restarts without a drop");
            assertThat(before).isNotEqualTo(after);
        } finally {
            stopSuccessors(pcIf);
            systemd.close();
        }
    }

    /** Two patchcord peers a (10.62.0.1) and b (10.62.0.2) over UDP or TCP; returns their interface names. */
    private static String[] twoPeers(Lab lab, String[] ns, String extra) throws Exception {
        String ifA = ifname("a"), ifB = ifname("b");
        KeyPair ka = keys(lab, ns[0]), kb = keys(lab, ns[1]);
        patchcordUp(lab, ns[1], "b", WireGuardPeers.config(lab, ifB, config(kb.privateKey(), 51820, "10.62.0.2",
                ka.publicKey(), "10.62.0.1", null, extra)), "--verbose");
        patchcordUp(lab, ns[0], "a", WireGuardPeers.config(lab, ifA, config(ka.privateKey(), 51820, "10.62.0.1",
                kb.publicKey(), "10.62.0.2", B4 + ":51820", extra)), "--verbose");
        Tunnels.reach(lab, ns[0], "10.62.0.2");
        return new String[] {ifA, ifB};
    }

    @Test
    void a200MegabyteTransferSurvivesThreeRestartsOnEachSideIntact(Lab lab) throws Exception {
        String[] ns = Tunnels.pair(lab);
        String[] ifs = twoPeers(lab, ns, "");
        try {
            String handshakes = lab.sh(ns[0], "wg", "show", ifs[0], "latest-handshakes");
            Process sink = lab.spawn(ns[1], "sink", Self.command("lab", "sink", "--port", "5201"));
            assertThat(Lab.await(Duration.ofSeconds(30), () -> lab.log("sink").contains("listening"))).isTrue();
            // 5 MB a second: 40 s, long enough for six restarts one after the other on a loaded machine.
            CompletableFuture<Lab.Result> source = CompletableFuture.supplyAsync(() -> lab.run(ns[0],
                    Duration.ofSeconds(180), Self.command("lab", "source", "--host", "10.62.0.2", "--port", "5201",
                            "--bytes", "200000000", "--seed", "7", "--rate", "5000000").toArray(String[]::new)));
            for (int round = 0; round < 3; round++) {
                restartOk(lab, ns[0], ifs[0], "a");
                restartOk(lab, ns[1], ifs[1], "b");
            }
            assertThat(source.isDone()).as("the transfer was still under way after the six restarts").isFalse();
            Lab.Result sent = source.get(180, TimeUnit.SECONDS);
            assertThat(sent.code()).as(sent.output()).isZero();
            assertThat(sink.waitFor(30, TimeUnit.SECONDS)).isTrue();
            String received = lab.log("sink");
            assertThat(Tunnels.field(received, "bytes")).isEqualTo("200000000");
            assertThat(Tunnels.field(received, "sha256")).isEqualTo(Tunnels.field(sent.output(), "sha256"));
            long stall = Long.parseLong(Tunnels.field(received, "longest_stall_ms"));
            System.out.println("200 MB through three restarts on each side: longest stall " + stall + " ms");
            assertThat(stall).as("longest stall of the stream").isLessThanOrEqualTo(500);
            assertThat(lab.sh(ns[0], "wg", "show", ifs[0], "latest-handshakes")).as("no new handshake")
                    .isEqualTo(handshakes);
            assertThat(lab.sh(ns[0], Self.command("show", ifs[0]).toArray(String[]::new)))
                    .contains("3 restarts without a drop");
        } finally {
            stopSuccessors(ifs);
        }
    }

    @Test
    void aSuccessorThatFailsLeavesTheRunningProcessCarryingTraffic(Lab lab) throws Exception {
        String[] ns = Tunnels.pair(lab);
        String[] ifs = twoPeers(lab, ns, "");
        Path conf = lab.logDir().resolve(ifs[0] + ".conf");
        String good = Files.readString(conf);
        try {
            long running = pid(ifs[0]);
            // 1. It cannot even read its configuration: it fails before it asks for the interface.
            Files.writeString(conf, good + "Nonsense = 1\n");
            Lab.Result r = restart(lab, ns[0], ifs[0]);
            assertThat(r.code()).as(r.output()).isNotZero();
            assertThat(r.output()).contains("restart failed, pid " + running + " carries on");
            assertThat(pid(ifs[0])).isEqualTo(running);
            Tunnels.ping(lab, ns[0], "10.62.0.2");
            // 2. It receives the interface and then finds the file asks for another kind (TAP): it
            // gives up after the descriptors were passed, and the running process resumes.
            Files.writeString(conf, good.replace("[Interface]\n", "[Interface]\nMode = tap\n"));
            r = restart(lab, ns[0], ifs[0]);
            assertThat(r.code()).as(r.output()).isNotZero();
            assertThat(r.output()).contains("carries on").contains("TAP");
            assertThat(lab.log("a")).contains("restart: received the interface");
            assertThat(pid(ifs[0])).isEqualTo(running);
            Tunnels.ping(lab, ns[0], "10.62.0.2");
            Tunnels.ping(lab, ns[1], "10.62.0.1");
            // 3. With the file mended, the same process hands over as usual.
            Files.writeString(conf, good);
            restartOk(lab, ns[0], ifs[0], "a");
            Tunnels.ping(lab, ns[0], "10.62.0.2");
        } finally {
            stopSuccessors(ifs);
        }
    }

    @Test
    void wireguardOverTcpKeepsItsConnectionThroughRestartsOnBothEnds(Lab lab) throws Exception {
        String[] ns = Tunnels.pair(lab);
        String[] ifs = twoPeers(lab, ns, "Transport = tcp");
        try {
            String connection = tcpConnection(lab, ns[0]);
            String handshakes = lab.sh(ns[0], "wg", "show", ifs[0], "latest-handshakes");
            restartOk(lab, ns[0], ifs[0], "a");
            Tunnels.ping(lab, ns[0], "10.62.0.2");
            restartOk(lab, ns[1], ifs[1], "b");
            Tunnels.ping(lab, ns[1], "10.62.0.1");
            Tunnels.transfer(lab, ns[0], ns[1], "10.62.0.2", 20_000_000);
            assertThat(tcpConnection(lab, ns[0])).as("the same TCP connection").isEqualTo(connection);
            assertThat(lab.sh(ns[0], "wg", "show", ifs[0], "latest-handshakes")).as("no new handshake")
                    .isEqualTo(handshakes);
        } finally {
            stopSuccessors(ifs);
        }
    }

    @Test
    void aTapInterfaceKeepsItsSessionsAndWhatItLearnedThroughRestartsOnBothEnds(Lab lab) throws Exception {
        String[] ns = Tunnels.pair(lab);
        String ifA = ifname("a"), ifB = ifname("b");
        KeyPair ka = keys(lab, ns[0]), kb = keys(lab, ns[1]);
        String tap = """
                [Interface]
                PrivateKey = %s
                ListenPort = 51820
                Mode = tap
                Address = %s/24
                [Peer]
                PublicKey = %s
                %s
                """;
        patchcordUp(lab, ns[1], "b", WireGuardPeers.config(lab, ifB, tap.formatted(kb.privateKey(), "10.63.0.2",
                ka.publicKey(), "")));
        patchcordUp(lab, ns[0], "a", WireGuardPeers.config(lab, ifA, tap.formatted(ka.privateKey(), "10.63.0.1",
                kb.publicKey(), "Endpoint = " + B4 + ":51820\nPersistentKeepalive = 1")));
        try {
            Tunnels.reach(lab, ns[0], "10.63.0.2");
            // Both TAPs send at once (neighbour discovery), so both ends start a handshake, and the
            // one each forgot is retried after REKEY_TIMEOUT: what a restart must keep is the state
            // once that has settled.
            String handshakes = settledHandshakes(lab, ns[0], ifA);
            restartOk(lab, ns[0], ifA, "a");
            Tunnels.ping(lab, ns[0], "10.63.0.2");
            restartOk(lab, ns[1], ifB, "b");
            Tunnels.ping(lab, ns[1], "10.63.0.1");
            assertThat(lab.log("b")).contains("1 of 1 peers' sessions carried over, 1 learned MAC addresses");
            assertThat(lab.sh(ns[0], "wg", "show", ifA, "latest-handshakes")).as("no new handshake")
                    .isEqualTo(handshakes);
        } finally {
            stopSuccessors(ifA, ifB);
        }
    }

    /**
     * {@code wg show IFNAME latest-handshakes} once it has not changed for longer than a retried
     * handshake takes (REKEY_TIMEOUT and its jitter), checked for at most 40 s.
     */
    private static String settledHandshakes(Lab lab, String ns, String ifname) {
        String[] last = {lab.sh(ns, "wg", "show", ifname, "latest-handshakes")};
        long[] since = {System.nanoTime()};
        boolean settled = Lab.await(Duration.ofSeconds(40), () -> {
            String now = lab.sh(ns, "wg", "show", ifname, "latest-handshakes");
            if (!now.equals(last[0])) {
                last[0] = now;
                since[0] = System.nanoTime();
            }
            return System.nanoTime() - since[0] > 6_000_000_000L;
        });
        assertThat(settled).as("handshakes settled: " + last[0]).isTrue();
        return last[0];
    }

    /** The one established TCP connection to port 51820 in {@code ns}: its addresses and ports. */
    private static String tcpConnection(Lab lab, String ns) {
        List<String> lines = lab.sh(ns, "ss", "-tnH", "state", "established", "( dport = :51820 or sport = :51820 )")
                .lines().filter(l -> !l.isBlank()).toList();
        assertThat(lines).as("one TCP connection").hasSize(1);
        String[] f = lines.getFirst().trim().split("\\s+");
        return f[f.length - 2] + " " + f[f.length - 1];
    }

    @Test
    void aHubWithAnAddressPoolKeepsEveryLeaseAndSessionOfFiveClients(Lab lab) throws Exception {
        int n = 5;
        String srv = lab.netns("srv");
        String[] ns = new String[n], ifs = new String[n];
        KeyPair[] keys = new KeyPair[n];
        for (int i = 0; i < n; i++) {
            ns[i] = lab.netns("c" + (i + 1));
            lab.link(srv, List.of("198.18." + (i + 1) + ".1/24"), ns[i], List.of("198.18." + (i + 1) + ".2/24"));
            ifs[i] = ifname("c" + (i + 1));
            keys[i] = keys(lab, ns[i]);
        }
        KeyPair hub = keys(lab, srv);
        Path leases = lab.logDir().resolve("hub.leases");
        StringBuilder conf = new StringBuilder("""
                [Interface]
                PrivateKey = %s
                ListenPort = 51820
                Address = 10.9.0.1/24
                Hub = true
                [Pool]
                Range = 10.9.0.0/24
                Routes = 10.9.0.0/24
                LeaseFile = %s
                """.formatted(hub.privateKey(), leases));
        for (KeyPair k : keys) {
            conf.append("[Peer]\nPublicKey = ").append(k.publicKey()).append('\n');
        }
        String hubIf = ifname("h");
        List<String> all = new ArrayList<>(List.of(hubIf));
        all.addAll(List.of(ifs));
        patchcordUp(lab, srv, "hub", WireGuardPeers.config(lab, hubIf, conf.toString()), "--verbose");
        try {
            String[] addr = new String[n];
            Pattern leased = Pattern.compile("address (\\S+)/24 from the server");
            for (int i = 0; i < n; i++) {
                patchcordUp(lab, ns[i], "c" + (i + 1), WireGuardPeers.config(lab, ifs[i], """
                        [Interface]
                        PrivateKey = %s
                        Address = auto
                        [Peer]
                        PublicKey = %s
                        AllowedIPs = 10.9.0.0/24
                        Endpoint = 198.18.%d.1:51820
                        PersistentKeepalive = 1
                        """.formatted(keys[i].privateKey(), hub.publicKey(), i + 1)));
            }
            for (int i = 0; i < n; i++) {
                String name = "c" + (i + 1);
                assertThat(Lab.await(Duration.ofSeconds(30), () -> leased.matcher(lab.log(name)).find()))
                        .as(lab.log(name)).isTrue();
                Matcher m = leased.matcher(lab.log(name));
                assertThat(m.find()).isTrue();
                addr[i] = m.group(1);
                Tunnels.ping(lab, ns[i], "10.9.0.1");
            }
            String leasesBefore = Files.readString(leases);
            String[] handshakes = new String[n];
            for (int i = 0; i < n; i++) {
                handshakes[i] = lab.sh(ns[i], "wg", "show", ifs[i], "latest-handshakes");
            }
            restartOk(lab, srv, hubIf, "hub");
            assertThat(lab.log("hub")).contains("5 of 5 peers' sessions carried over");
            for (int i = 0; i < n; i++) {
                Tunnels.ping(lab, ns[i], "10.9.0.1");
                Tunnels.ping(lab, ns[i], addr[(i + 1) % n]); // through the hub, to the next client
                assertThat(lab.sh(ns[i], "wg", "show", ifs[i], "latest-handshakes")).as("client " + (i + 1)
                        + ": no new handshake").isEqualTo(handshakes[i]);
                assertThat(lab.ip(ns[i], "-4", "address", "show", "dev", ifs[i])).contains(addr[i] + "/24");
            }
            for (String line : leasesBefore.lines().filter(l -> !l.startsWith("#")).toList()) {
                String[] f = line.split(" ");
                assertThat(Files.readString(leases)).as("lease of " + f[0] + " kept").contains(f[0] + " " + f[1] + " ");
            }
        } finally {
            stopSuccessors(all.toArray(String[]::new));
        }
    }
}
